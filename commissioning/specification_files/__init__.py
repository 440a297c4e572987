"""Service specifications as JSON files, so one ICS can share a good specification with another.

docs/specification-files.md describes the format field by field; keep the two in step. One
module a step, and callers import from the one they need:

- format: the file's name, version and fields, SpecificationFileError and ImportResult;
- export: specifications_export, a file from the database;
- reading: records_from_json, and each record's fields read and checked;
- resolving: the names in records found in the database;
- checking: the statuses a record may give the version it names;
- writing: the versions created, updated and retired;
- importing: specifications_import, every record written or none.
"""
