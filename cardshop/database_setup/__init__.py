"""cardshop-database-setup: PostgreSQL 17 + DocumentDB + FerretDB 2 on the database host, idempotently.

`settings` renders what is written (pure); `cluster` reads and changes the
host (files, the cluster, roles); `main` is the command line.
"""
