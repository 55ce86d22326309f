"""Administration of an installed Cardshop from the central host (`cardshop-admin`).

`migrate-database` moves the data of FerretDB 1.24's SQLite files into the
new engine: `sjson` decodes FerretDB 1.24's JSON rows, `oldfiles` reads its
SQLite folder without writing to it, `migrate` copies and verifies, `services`
checks that nothing still uses the database, `main` is the command line.
"""
