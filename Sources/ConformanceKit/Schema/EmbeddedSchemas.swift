/// The schema files of docs/schemas (reached through the `Schemas` link in this target and
/// embedded at build time, so the conformance binaries are standalone).
public enum EmbeddedSchemas {
    public static let files: [(String, [UInt8])] = [
        ("runnerd.schema.json", PackageResources.runnerd_schema_json),
        ("spawner.schema.json", PackageResources.spawner_schema_json),
    ]
}
