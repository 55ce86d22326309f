"""One module per resource; each declares its routes on its own `api`."""
