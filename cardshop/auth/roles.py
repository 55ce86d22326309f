"""Roles and what they may do, in one place."""

ADMIN, MANAGER, CREATOR, WRITER, SYSTEM = "admin", "manager", "creator", "writer", "system"

# Roles an admin may give through the API; `system` belongs to the daemons.
ASSIGNABLE = (ADMIN, MANAGER, CREATOR, WRITER)
ALL = ASSIGNABLE + (SYSTEM,)

# Who works orders and reads the pipeline's state.
OPERATORS = (ADMIN, MANAGER)
# Who uses the message broker.
WORKERS = (CREATOR, WRITER)
BROKER_ADMINS = (ADMIN, SYSTEM)
