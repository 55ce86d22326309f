"""MongoDB access: one client per process, indexes, ids, status transitions."""

from cardshop.store.db import StoreError, connect, ensure_indexes, is_id, new_id, now, slow, unavailable

__all__ = ["StoreError", "connect", "ensure_indexes", "is_id", "new_id", "now", "slow", "unavailable"]
