"""The directory as Open Referral UK / HSDS 3.0 data: the open-data export and the file import.

One module a step; import from the one you need:

- `vocabulary`: the shared vocabulary, status spellings and the public ids derived from ours;
- `export`: the paged open-data feed;
- `fields`: reading one HSDS field into a model value, reporting what is wrong with it;
- `reading`: a file's records into plans for organisations and services;
- `importing`: checking the plans across records and against the database, then writing them.

docs/directory-open-data.md describes the mapping field by field; keep the two in step.
"""
