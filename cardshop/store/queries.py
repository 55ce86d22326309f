"""The store's named queries: what the scheduler's API, the monitor and the beat ask again and again.

Each entry is built from the same filter (and sort) the store's function sends, with a representative
argument, so that explaining it (store/plans.py) shows the plan production gets. Each must find its
documents through an index of db.INDEXES, and its cost follow the work in flight (live statuses, a
bounded window), never the history: tests/integration/store/test_query_plans.py explains every one
against seeded data. A new recurring query belongs here.
"""

import dataclasses
import datetime

from cardshop.states import ORDER
from cardshop.states.tasks import WORKING, WRITE_TASK
from cardshop.store import commits, counters, failed_logins, notifications, orders, refresh_tokens, search, \
    task_logs, tasks, users, workers, writer_slots
from cardshop.store.paging import NEWEST_FIRST, tied_filter, window_filter

# Representative arguments; a test seeds documents that match them.
ORDER_ID = "0123456789abcdef01234567"
TASK_ID = "0123456789abcdef76543210"
WRITER = "writer-1"
HOST = "rack-1"
CREATOR = "creator-1"
MOMENT = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


@dataclasses.dataclass(frozen=True)
class Query:
    name: str  # the store function that sends it (and who calls it)
    collection: str
    filter: dict
    sort: list = None
    limit: int = None

    def command(self):
        """The find command that explains it (a count or delete of that filter reads the same documents)."""
        command = {"find": self.collection, "filter": self.filter}
        if self.sort:
            command["sort"] = dict(self.sort)
        if self.limit:
            command["limit"] = self.limit
        return command


QUERIES = [
    Query("tasks.in_flight_counts (metrics)", "tasks", tasks.in_flight_filter()),
    # GET /orders/{id}, the cascades, the beat's reconcile
    Query("orders.tasks_of (GET /orders/{id})", "tasks", orders.tasks_of_filter(ORDER_ID), orders.TASKS_OLDEST_FIRST),
    Query("tasks.latest_of_kind (retry_failed, cascades)", "tasks", tasks.of_kind_filter(ORDER_ID, "create"),
          tasks.NEWEST_FIRST, 1),
    # the beat's jobs
    Query("tasks.unconfirmed_before (republish_pending)", "tasks", tasks.unconfirmed_filter(MOMENT)),
    Query("tasks.queued_published_before (republish_pending)", "tasks", tasks.queued_published_filter(MOMENT)),
    Query("tasks.silent_since (time_out_tasks)", "tasks", tasks.silent_filter(WORKING, MOMENT)),
    Query("tasks.placed_writes_in (move_offline_writers)", "tasks", tasks.placed_writes_filter(WRITE_TASK.queued)),
    Query("orders.in_status_since ready (expire_downloads)", "orders",
          orders.in_status_since_filter(["ready"], MOMENT)),
    Query("orders.in_status_since creation_failed, recent (retry_failed)", "orders",
          orders.in_status_since_filter(["creation_failed"], MOMENT, MOMENT - datetime.timedelta(days=1))),
    Query("tasks.orders_with_kind_not_in (reconcile)", "tasks",
          tasks.orders_of_kind_filter([ORDER_ID, TASK_ID], "write", WRITE_TASK.final)),
    Query("orders.in_status_since live (reconcile)", "orders",
          orders.in_status_since_filter(ORDER.statuses - ORDER.ended, MOMENT)),
    Query("orders.with_images_in (clean_warehouse)", "orders", orders.with_images_filter(ORDER.final), limit=100),
    Query("orders.using_folder (clean_warehouse, POST /orders of an image)", "orders",
          orders.using_folder_filter(TASK_ID, ORDER.statuses - ORDER.final), limit=20),
    Query("orders.folder_deleting (POST /orders of an image)", "orders", orders.folder_deleting_filter(TASK_ID)),
    Query("orders.uncompacted (compact_histories)", "orders", orders.uncompacted_filter(ORDER.final, MOMENT),
          limit=500),
    Query("commits.prune (prune_commits)", "commits", commits.prune_filter(MOMENT), commits.OLDEST_FIRST, 5000),
    Query("workers.delete_unseen_since (expire_workers)", "workers", workers.unseen_since_filter(MOMENT)),
    Query("refresh_tokens.delete_expired (purge_tokens)", "refresh_tokens", refresh_tokens.expired_filter(MOMENT)),
    Query("failed_logins.delete_expired (purge_tokens)", "failed_logins", failed_logins.expired_filter(MOMENT)),
    # the beat's send_notifications (cardshop/notify)
    Query("orders.in_status_since all, since the last scan (notify.scan_orders)", "orders",
          orders.in_status_since_filter(ORDER.statuses, MOMENT, MOMENT - datetime.timedelta(minutes=5))),
    Query("workers.refusing_slots (notify.scan_slots)", "workers", workers.refusing_slots_filter()),
    Query("workers.writers_gone_quiet (notify.scan_hosts)", "workers",
          workers.gone_quiet_filter(MOMENT - datetime.timedelta(days=1), MOMENT)),
    Query("workers.host_live_at (notify.scan_hosts)", "workers", workers.host_live_filter(WRITER, HOST, MOMENT)),
    Query("users.subscribers (notify)", "users", users.subscribers_filter("order_written", ["admin", "manager"])),
    Query("notifications.due (send_notifications)", "notifications", notifications.due_filter(MOMENT),
          notifications.DUE_FIRST, 50),
    Query("notifications.prune (prune_notifications)", "notifications",
          notifications.prune_filter(notifications.SENT, MOMENT), limit=5000),
    # placement (the cascades, the beat's moves and retries)
    Query("workers.live_writers_at (placement)", "workers", workers.live_writers_filter(MOMENT)),
    Query("workers.seen_since (move_offline_writers, slot_busy_with)", "workers",
          workers.seen_since_filter(WRITER, MOMENT)),
    Query("workers.of_names (GET /workers: a page of hosts)", "workers",
          workers.of_names_filter([f"{WRITER}@{HOST}.slot-{number}" for number in (1, 2)])),
    Query("tasks.count_writes_on_not_in (placement)", "tasks", tasks.writes_on_filter(WRITER, WRITE_TASK.ended)),
    # the API's history pages (store/paging.py): the tied documents, a window; live work in one query
    Query("paging.tied_filter (GET /orders?after=)", "orders", tied_filter({}, (MOMENT, ORDER_ID)), NEWEST_FIRST, 51),
    Query("paging.window_filter (GET /orders)", "orders", window_filter({}, MOMENT, MOMENT + datetime.timedelta(
        minutes=10)), NEWEST_FIRST, 51),
    Query("paging.window_filter (GET /orders?status=shipped)", "orders",
          window_filter({"status": {"$in": ["shipped", "canceled"]}}, MOMENT), NEWEST_FIRST, 51),
    Query("paging bounded (GET /orders?status=writing)", "orders", {"status": {"$in": ["writing", "created"]}},
          NEWEST_FIRST),
    Query("search.matching, a word (GET /orders?q=)", "orders", window_filter(search.matching("school"), MOMENT),
          NEWEST_FIRST, 51),
    Query("search.matching, an email and a word (GET /orders?q=)", "orders",
          window_filter(search.matching("s1234@example.org School"), MOMENT), NEWEST_FIRST, 51),
    Query("counters.recount, a live status (recount_orders)", "orders", counters.status_filter("writing")),
    Query("counters.recount, an ended status (recount_orders)", "orders", counters.status_filter("shipped")),
    Query("paging bounded (GET /tasks?order=)", "tasks", {"order": ORDER_ID}, NEWEST_FIRST),
    Query("paging.window_filter (GET /tasks)", "tasks", window_filter({}, MOMENT), NEWEST_FIRST, 51),
    # the API
    Query("tasks.held_by_in (GET /workers, /auth/validate)", "tasks", tasks.held_by_filter([CREATOR, WRITER], WORKING)),
    Query("task_logs.latest_of (GET /tasks/{id}/logs)", "task_logs", task_logs.of_task_filter(TASK_ID),
          task_logs.LATEST_FIRST, 200),
    Query("task_logs.drop_tail_before (monitor, a long log)", "task_logs", task_logs.tail_before_filter(TASK_ID, 7)),
    Query("writer_slots.host_slots (monitor, /writer-hosts)", "writer_slots", writer_slots.host_filter(WRITER, HOST)),
    Query("failed_logins.times_since (POST /auth/authorize)", "failed_logins",
          failed_logins.times_since_filter("ada", "192.0.2.1", MOMENT)),
]
