"""Storage: the database file and everything written to it. Opening and sharing the file
(``database``, ``sharing``), the schema and its migrations, storing contacts and sessions as
batches, the audit log, settings, pseudonymous client keys, encryption at rest, and data
care (backups, restores, erasure). A change to what is stored, or how, goes here.
"""
