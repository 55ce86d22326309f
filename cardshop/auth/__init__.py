"""Users' credentials: password hashes, access and refresh tokens, login throttling."""
