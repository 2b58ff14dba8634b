#!/usr/bin/env python3
"""Checks docs/schemas with the reference validator (python jsonschema, draft 2020-12).

check-schemas.py SCHEMA_DIR [SAMPLES.ndjson]
  - every *.schema.json is a valid draft 2020-12 schema;
  - every sample line {"ref": "file#/$defs/X", "instance": ...} validates.
Exit 0 when everything holds.
"""
import json, os, sys
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

directory = sys.argv[1]
documents = {}
for name in sorted(os.listdir(directory)):
    if name.endswith(".schema.json"):
        with open(os.path.join(directory, name)) as f:
            documents[name] = json.load(f)
        Draft202012Validator.check_schema(documents[name])
registry = Registry().with_resources(
    [(doc["$id"], Resource.from_contents(doc)) for doc in documents.values()])
base = {name: doc["$id"] for name, doc in documents.items()}
failures = 0
if len(sys.argv) > 2:
    with open(sys.argv[2]) as f:
        for line in f:
            if not line.strip():
                continue
            sample = json.loads(line)
            name, _, pointer = sample["ref"].partition("#")
            validator = Draft202012Validator({"$ref": base[name] + "#" + pointer}, registry=registry)
            errors = list(validator.iter_errors(sample["instance"]))
            if errors:
                failures += 1
                print("FAIL", sample["ref"], json.dumps(sample["instance"])[:200], errors[0].message)
print(f"{len(documents)} schemas valid; {failures} sample(s) rejected")
sys.exit(1 if failures else 0)
