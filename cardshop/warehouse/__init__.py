"""The warehouse: an FTP(S) server for images; logins are checked with the scheduler."""
