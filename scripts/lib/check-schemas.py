#!/usr/bin/env python3
"""Checks docs/schemas with the reference validator (python jsonschema, draft 2020-12).

check-schemas.py SCHEMA_DIR [SAMPLES.ndjson]
  - every *.schema.json is a valid draft 2020-12 schema;
  - every sample line {"ref": "file#/$defs/X", "instance": ...} validates.
Exit 0 when everything holds.
"""
import json, os, sys
from jsonschema import Draft202012Validator
try:
    from referencing import Registry, Resource
except ImportError:  # jsonschema before 4.18 (Debian bookworm's): the RefResolver API
    Registry = None

directory = sys.argv[1]
documents = {}
for name in sorted(os.listdir(directory)):
    if name.endswith(".schema.json"):
        with open(os.path.join(directory, name)) as f:
            documents[name] = json.load(f)
        Draft202012Validator.check_schema(documents[name])
if Registry is not None:
    registry = Registry().with_resources(
        [(doc["$id"], Resource.from_contents(doc)) for doc in documents.values()])
    def validator_for(schema):
        return Draft202012Validator(schema, registry=registry)
else:
    from jsonschema import RefResolver
    store = {doc["$id"]: doc for doc in documents.values()}
    def validator_for(schema):
        return Draft202012Validator(schema, resolver=RefResolver("", schema, store=store))
base = {name: doc["$id"] for name, doc in documents.items()}
failures = 0
if len(sys.argv) > 2:
    with open(sys.argv[2]) as f:
        for line in f:
            if not line.strip():
                continue
            sample = json.loads(line)
            name, _, pointer = sample["ref"].partition("#")
            validator = validator_for({"$ref": base[name] + "#" + pointer})
            errors = list(validator.iter_errors(sample["instance"]))
            if errors:
                failures += 1
                print("FAIL", sample["ref"], json.dumps(sample["instance"])[:200], errors[0].message)
print(f"{len(documents)} schemas valid; {failures} sample(s) rejected")
sys.exit(1 if failures else 0)
