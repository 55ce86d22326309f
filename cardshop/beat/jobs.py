"""The built-in periodic jobs. Each takes a Context and its parameters, and returns a summary."""

import datetime
import logging
import time

from cardshop.beat.invariant import STEP_TASK, stranded_orders
from cardshop.client import ApiUnreachable, CredentialsError
from cardshop.domain import reuse
from cardshop.domain.attempts import next_attempt
from cardshop.domain.cascades import Cascades
from cardshop.pipeline.publish import queue_of
from cardshop.states import ORDER, IllegalTransition, order_event, task_machine
from cardshop.states.tasks import WORKING, WRITE_TASK
from cardshop.recipes import RecipeError, validate_recipe
from cardshop.domain.placement import is_registered
from cardshop.notify import events as notify_events
from cardshop.notify.send import send_due
from cardshop.store import commits, failed_logins, notifications, now, orders, refresh_tokens, task_logs, tasks, \
    warehouses, workers, writer_slots
from cardshop.store.transitions import compact_history, transition
from cardshop.client.warehouse import WarehouseClient, WarehouseError

log = logging.getLogger(__name__)

ACTOR = "beat"


class Context:
    def __init__(self, db, publisher, tokens=None, ca_file=None, mail=None):
        self.db = db
        self.mail = mail  # cardshop.notify.mail.Settings, or None: no e-mail
        self.publisher = publisher
        self.cascades = Cascades(db, publisher)
        self.tokens = tokens  # the system user's, for the warehouse
        self.ca_file = ca_file
        self.short_queues = ShortQueues()


class ShortQueues:
    """Queues found holding fewer messages than their queued tasks, and since when.

    A queue is short for a moment whenever a worker has taken a message (unacked
    messages are not counted as ready) and its claim is not applied yet; only a
    shortfall that outlasts `settle` seconds is a lost message. Kept in the
    beat's memory: a restarted beat waits one more look.
    """

    def __init__(self):
        self._seen = {}  # queue name -> (monotonic time first seen short, ids of the tasks queued then)

    def lasting(self, short, settle, at=None):
        """Of `short` (queue name -> ids of its queued tasks), the queues short since at least `settle`
        seconds, each with the tasks queued all that time; queues no longer short are forgotten."""
        at = time.monotonic() if at is None else at
        seen, due = {}, {}
        for name, ids in short.items():
            since, first = self._seen.get(name, (at, set(ids)))
            kept = first & set(ids)
            if not kept:
                since, kept = at, set(ids)
            if at - since >= settle:
                due[name] = kept
            else:
                seen[name] = (since, kept)
        self._seen = seen
        return due


def _ago(seconds):
    return now() - datetime.timedelta(seconds=seconds)


def republish_pending(ctx, older_than=30):
    """Publish again what the broker does not hold, never a task merely waiting in its queue.

    What the broker does not hold: a publication it never confirmed (it was
    down), and the queued tasks of a queue that has held fewer messages than it
    should for `older_than` seconds (purged or deleted; see ShortQueues). Each
    publication carries a new grant, so a copy that is somewhere after all is
    refused when it is claimed (docs/decisions/claims.md). `older_than` leaves
    publications and claims in flight alone.
    """
    stale = _ago(older_than)
    published, lost = 0, []
    for task in tasks.unconfirmed_before(ctx.db, stale):
        published += _publish_again(ctx, task)
    by_queue = {}
    for task in tasks.queued_published_before(ctx.db, stale):
        if task["kind"] == "write" and not task.get("writer"):
            continue
        by_queue.setdefault(queue_of(task).name, []).append(task)
    short = {}
    for name, queued in sorted(by_queue.items()):
        held = ctx.publisher.message_count(name) if ctx.publisher is not None else None
        if held is not None and held < len(queued):
            short[name] = {task["_id"] for task in queued}
    for name, ids in sorted(ctx.short_queues.lasting(short, settle=older_than).items()):
        log.warning("queue %s has held fewer messages than its %d queued task(s) for %d s or more (purged?): "
                    "publishing them again", name, len(ids), older_than)
        lost.append(name)
        published += sum(_publish_again(ctx, task) for task in by_queue[name] if task["_id"] in ids)
    return {"republished": published, "short_queues": lost}


def _publish_again(ctx, task):
    """1 when the task's message went out again (placing an unplaced write task first), else 0."""
    if task["kind"] == "write" and not task.get("writer"):
        writer = ctx.cascades.writer_for(task["order"])
        if writer is None:
            return 0
        tasks.set_writer(ctx.db, task["_id"], writer)
        task["writer"] = writer
    return int(ctx.publisher is not None and ctx.publisher.publish(task))


def _slot_busy_with(ctx, task, since):
    """True while a slot of the task's writer host still says, in its heartbeats, that it works on the task."""
    return task["kind"] == "write" and workers.slot_busy_with(ctx.db, task.get("writer"), task["_id"], since)


def time_out_tasks(ctx, timeout=900, max_attempts=3):
    """End tasks whose worker went silent; retry them as new tasks, or fail their order.

    Queued tasks (`pending`, a write task `requeued` for another card) wait in
    RabbitMQ and are never timed out; nor is a write task whose slot still
    names it in its heartbeats.
    """
    timed_out = retried = 0
    silent = _ago(timeout)
    for task in tasks.silent_since(ctx.db, WORKING, silent):
        if _slot_busy_with(ctx, task, silent):
            continue
        try:
            transition(ctx.db.tasks, task["_id"], task_machine(task["kind"]), "timed_out", ACTOR,
                       note=f"no report for {timeout} s")
        except IllegalTransition:
            continue  # it moved meanwhile
        timed_out += 1
        attempt = task.get("attempt", 1)
        order = orders.find(ctx.db, task["order"], {"status": 1})
        if order is None or order["status"] in ORDER.ended:
            continue
        if attempt >= max_attempts:
            event = order_event(task["kind"], "failed")
            try:
                transition(ctx.db.orders, task["order"], ORDER, event, ACTOR,
                           note=f"{task['kind']} task timed out {attempt} times")
            except IllegalTransition:
                pass
            continue
        _retry_task(ctx, task, "timed out")
        retried += 1
    return {"timed_out": timed_out, "retried": retried}


def purge_tokens(ctx):
    """Delete expired refresh tokens and expired failed-login records (the scheduler sweeps them too)."""
    moment = now()
    tokens = refresh_tokens.delete_expired(ctx.db, moment)
    failures = failed_logins.delete_expired(ctx.db, moment)
    return {"refresh_tokens": tokens, "failed_logins": failures}


def expire_workers(ctx, after=86400):
    """Delete the records of workers unseen for `after` seconds, and of writer slots no longer registered.

    A slot unregistered while it still beat may have been filed again in the few seconds the monitor
    trusts what it read of the registrations: its record goes here, as a host's without registered slots.
    """
    unseen = workers.delete_unseen_since(ctx.db, _ago(after))
    records = workers.writer_records(ctx.db)
    registered = writer_slots.numbers_by_host(ctx.db, {username for _, username in records})
    gone = [name for name, username in records if not is_registered(registered, username, name)]
    return {"unseen": unseen, "unregistered": workers.delete(ctx.db, gone)}


def compact_histories(ctx, after_days=90, limit=25):
    """Orders ended for good `after_days` ago keep their details (recipient, cards, shipment, image) but
    not every step: their and their tasks' histories become first and last entries, and their tasks'
    log lines go. At most `limit` orders a run; the index finds only those not compacted yet."""
    orders_done = tasks_done = lines = 0
    moment = now()
    for order in orders.uncompacted(ctx.db, ORDER.final, _ago(after_days * 86400), limit):
        owned = orders.tasks_of(ctx.db, order["_id"], {"statuses": 1})
        lines += task_logs.delete_of_tasks(ctx.db, [task["_id"] for task in owned])
        for task in owned:
            compact_history(ctx.db.tasks, task, moment)
        tasks_done += len(owned)
        compact_history(ctx.db.orders, order, moment)  # last: a run cut short does this order again
        orders_done += 1
    return {"orders": orders_done, "tasks": tasks_done, "log_lines": lines}


def prune_commits(ctx, older_than=86400, limit=5000):
    """Delete compare-and-set records older than `older_than` s whose change is in place (at most `limit`
    a run: the job costs what one batch costs, whatever the history)."""
    return {"deleted": commits.prune(ctx.db, _ago(older_than), limit)}


def prune_notifications(ctx, after_days=90, limit=5000):
    """Delete the records of mails sent or given up more than `after_days` ago (at most `limit`; at least
    2 days: the events' look-back is one)."""
    return {"deleted": notifications.prune(ctx.db, _ago(after_days * 86400), limit)}


def recount_orders(ctx, settle=1):
    """Count the orders in each status again and correct the counters /stats/orders answers from (a process
    that died between an order's write and its counter's left it off by one); says which it corrected."""
    corrected = orders.recount(ctx.db, settle)
    return {"corrected": {status: f"{'none' if was is None else was} -> {count}"
                          for status, (was, count) in sorted(corrected.items())}}


def expire_downloads(ctx, after_days=30):
    """Download orders ready for longer than after_days end `expired` (their images then go)."""
    expired = 0
    for order in orders.in_status_since(ctx.db, ["ready"], _ago(after_days * 86400), {"_id": 1}):
        try:
            transition(ctx.db.orders, order["_id"], ORDER, "expire", ACTOR, note=f"ready for {after_days} days")
            expired += 1
        except IllegalTransition:
            pass
    return {"expired": expired}


def clean_warehouse(ctx, limit=100):
    """Delete the images of orders that ended for good (shipped, expired, canceled), but never one that an
    order not ended for good still uses (ordered again: domain/reuse.py); the last of its users to end
    takes it along. Each order's image is marked as going before its users are looked for, so an order of
    it placed meanwhile is either found here or sees the mark and is refused."""
    deleted, kept, failed = 0, 0, []
    for order in orders.with_images_in(ctx.db, ORDER.final, limit):
        warehouse = warehouses.find(ctx.db, order["warehouse"]) or {}
        folders = [task["_id"] for task in tasks.of_kind(ctx.db, order["_id"], "create", {"_id": 1})]
        shared = (order.get("image") or {}).get("folder")
        if isinstance(shared, str) and shared not in folders:
            folders.append(shared)  # an order of an image made before: the folder it was written from
        if isinstance(shared, str):
            orders.mark_image_deleting(ctx.db, order["_id"], now())
            users = orders.using_folder(ctx.db, shared, ORDER.statuses - ORDER.final, limit=1)
            if users:
                orders.unmark_image_deleting(ctx.db, order["_id"], users[0]["_id"])
                folders.remove(shared)
                kept += 1
        try:
            if folders and warehouse.get("upload_url"):
                with WarehouseClient(warehouse["upload_url"], ctx.tokens.username, ctx.tokens.access_token(),
                                     ctx.ca_file) as client:
                    for folder in folders:
                        deleted += client.delete_folder(folder)
        except (WarehouseError, CredentialsError, ApiUnreachable) as exc:
            failed.append(f"{order['_id']}: {exc}")
            continue
        orders.mark_image_deleted(ctx.db, order["_id"], now())
    if failed:
        log.warning("warehouse clean-up left %d order(s) for next time: %s", len(failed), "; ".join(failed[:5]))
    return {"folders_deleted": deleted, "kept_in_use": kept, "failed": len(failed)}


def auto_image(ctx, name, recipe, card_size=64, warehouse=None):
    """Build `recipe` again as a download order; its image keeps the stable name `name`.

    The previous build of the same name expires once the new one is ready
    (the monitor does that), and /auto-images/{name} names the latest one.
    """
    try:
        validate_recipe(recipe, card_size)
    except RecipeError as exc:
        raise ValueError(f"auto-image {name}: {exc}") from None
    if warehouse is None:
        default = warehouses.find_default(ctx.db, {"name": 1})
        if default is None:
            raise ValueError(f"auto-image {name}: no default warehouse")
        warehouse = default["name"]
    order, task = orders.record_order(ctx.db, {
        "recipe": recipe, "sd_card": {"size": card_size, "type": "download"}, "quantity": 1,
        "recipient": {"name": f"auto-image {name}", "email": "auto-image@cardshop.invalid", "address": "-"},
        "warehouse": warehouse, "auto_image": name}, ACTOR, now())
    if ctx.publisher is not None:
        ctx.publisher.publish(task)
    return {"order": order["_id"]}


def _retry_task(ctx, task, note, fields=None):
    """A new task doing `task`'s work again (the next attempt), published."""
    fields = dict(fields or {})
    if task["kind"] == "write" and "writer" not in fields:
        fields["writer"] = ctx.cascades.writer_for(task["order"])
    retry = next_attempt(ctx.db, task, ACTOR, note, **fields)
    if ctx.publisher is not None and (task["kind"] == "create" or fields.get("writer")):
        ctx.publisher.publish(retry)
    return retry


def retry_failed(ctx, max_attempts=3, older_than=60, within=86400):
    """Try again the orders whose create task gave up on a dependency that stayed away (retryable).

    Only orders that failed in the last `within` seconds are looked at (the job runs every few minutes, so
    it has tried each by then): its cost follows the recent failures, not every failure in the history.
    An admin can still retry an older one.
    """
    retried = 0
    for order in orders.in_status_since(ctx.db, ["creation_failed"], _ago(older_than), {"_id": 1},
                                        after=_ago(within)):
        task = tasks.latest_of_kind(ctx.db, order["_id"], "create")
        if task is None or task["status"] != "failed" or not (task.get("result") or {}).get("retryable") \
                or task.get("attempt", 1) >= max_attempts:
            continue
        try:
            transition(ctx.db.orders, order["_id"], ORDER, "retry", ACTOR,
                       note=f"retry {task.get('attempt', 1) + 1} of {max_attempts}: {task.get('reason')}")
        except IllegalTransition:
            continue
        _retry_task(ctx, task, "retryable failure")
        retried += 1
    return {"retried": retried}


def reconcile(ctx, older_than=120, max_attempts=3):
    """Repair stranded orders (see cardshop.beat.invariant) and say what was done to each."""
    repaired = []
    for order, why in stranded_orders(ctx.db, older_than):
        kind = STEP_TASK.get(order["status"])
        if kind is None:
            log.warning("order %s is %s; nothing the beat can repair", order["_id"], why)
            _tell_stranded(ctx, order, why, "nothing: the beat cannot repair it, a person must look at it")
            continue
        if order["status"] == "created" and order.get("image_source"):  # its image is made: nothing to build
            moved = reuse.move_on(ctx.db, ctx.publisher, order, ACTOR)
            action = f"moved it on to {moved['status']} (its image is made)" if moved else "it moved meanwhile"
            log.warning("reconcile: order %s was %s; %s", order["_id"], why, action)
            repaired.append(f"{order['_id']}: {action}")
            continue
        steps = tasks.of_kind(ctx.db, order["_id"], kind)
        if steps and steps[0]["updated_at"] > _ago(older_than):
            continue  # its last task just ended: the monitor may still be applying it
        action = _repair(ctx, order, kind, steps, max_attempts)
        log.warning("reconcile: order %s was %s; %s", order["_id"], why, action)
        _tell_stranded(ctx, order, why, action)
        repaired.append(f"{order['_id']}: {action}")
    return {"repaired": len(repaired), "orders": repaired[:20]}


def _tell_stranded(ctx, order, why, action):
    """Record the operators' mail about a stranded order (sent by send_notifications), when mail is on."""
    if ctx.mail is not None:
        notify_events.record_stranded(ctx.db, ctx.mail, order, why, action)


def _repair(ctx, order, kind, steps, max_attempts):
    if kind == "create":
        if not steps:
            task = tasks.new_task(order["_id"], "create", ACTOR, now())
            tasks.insert(ctx.db, task)
            if ctx.publisher is not None:
                ctx.publisher.publish(task)
            return f"created and published create task {task['_id']}"
        last = steps[0]
        if last["status"] in ("done", "failed"):
            ctx.cascades.after_task_status(last, None)  # the order missed its task's ending: apply it now
            return f"applied the ending of create task {last['_id']} ({last['status']})"
        if last.get("attempt", 1) < max_attempts:
            return f"retried create task {last['_id']} ({last['status']}) as {_retry_task(ctx, last, 'reconcile')['_id']}"
        transition(ctx.db.orders, order["_id"], ORDER, "create_failed", ACTOR,
                   note=f"create task {last['status']} {last.get('attempt', 1)} times")
        return "failed it: no attempts left"
    replaced = {task.get("retry_of") for task in steps}  # timed out, or moved off an offline host, and redone
    failed = [task for task in steps if task["status"] == "failed" and task["_id"] not in replaced]
    written = [task for task in steps if task["status"] == "written"]
    if failed or (written and len(written) >= order["quantity"]):
        ctx.cascades.after_task_status((failed or written)[0], None)
        return f"applied the ending of write task {(failed or written)[0]['_id']}"
    made = ctx.cascades.redo_writes(order, ACTOR, "reconcile")  # all of an order's cards on one host
    return f"created write tasks {', '.join(made)}"


def move_offline_writers(ctx, offline_after=600):
    """Move the queued write tasks of writer hosts unseen for `offline_after` s to a live host.

    Each queued task (`pending`, or `requeued` for another card) of such a
    host is canceled (its cancel broadcast, in case the host comes back) and
    redone as a new task, the next attempt, on one live host per order,
    chosen as for a new order; the order's history says what moved where.
    """
    seen_since = _ago(offline_after)
    offline, moved = {}, {}
    for task in tasks.placed_writes_in(ctx.db, WRITE_TASK.queued):
        writer = task["writer"]
        if writer not in offline:
            offline[writer] = not workers.seen_since(ctx.db, writer, seen_since)
        if offline[writer]:
            moved.setdefault((task["order"], writer), []).append(task)
    gone = {writer for writer, is_offline in offline.items() if is_offline}
    summary, count = [], 0
    if moved and not set(ctx.cascades.placement.live_hosts()) - gone:  # nowhere to move anything: say it once
        log.warning("writer hosts %s are offline and no other is live: the write tasks of %d order(s) wait",
                    ", ".join(sorted(gone)), len({order_id for order_id, _ in moved}))
        return {"moved": 0, "orders": []}
    for (order_id, old), queued in moved.items():
        order = orders.find(ctx.db, order_id, {"status": 1})
        if order is None or not ORDER.allows(order["status"], "writer_moved"):
            continue
        new = ctx.cascades.writer_for(order_id, exclude=gone)
        if new is None:
            log.warning("order %s: writer host %s is offline and no other is live; its tasks wait", order_id, old)
            continue
        pairs = []
        for task in queued:
            note = f"writer host {old} offline for more than {offline_after} s; moved to {new}"
            try:
                canceled = transition(ctx.db.tasks, task["_id"], WRITE_TASK, "canceled", ACTOR, note=note,
                                      extra={"reason": note}, guard={"status": {"$in": sorted(WRITE_TASK.queued)}})
            except IllegalTransition:
                canceled = None
            if canceled is None:
                continue  # the host came back and took it meanwhile
            if ctx.publisher is not None:
                ctx.publisher.cancel(task["_id"], note)
            pairs.append((task["_id"], _retry_task(ctx, task, f"moved from {old} to {new}",
                                                   {"writer": new, "moved_from": old})["_id"]))
        if pairs:
            note = (f"writer host {old} offline for more than {offline_after} s: write tasks "
                    f"{', '.join(f'{before} -> {after}' for before, after in pairs)} moved to {new}")
            try:
                transition(ctx.db.orders, order_id, ORDER, "writer_moved", ACTOR, note=note)
            except IllegalTransition:
                pass  # ended meanwhile; its tasks' histories still say it
            log.warning("order %s: %s", order_id, note)
            summary.append(note)
            count += len(pairs)
    return {"moved": count, "orders": summary[:20]}


def send_notifications(ctx, batch=50, max_attempts=3, retry_for=7 * 86400, lookback=86400, lease=300):
    """Record the e-mails owed for what happened since the last run, and send those due (cardshop.notify).

    Events older than `lookback` s (the beat was stopped longer, or mail was just turned on) are not told.
    Nothing happens while the beat's config has no `mail.smtp_host`.
    """
    if ctx.mail is None:
        return {"mail": "off"}
    recorded = (notify_events.scan_orders(ctx.db, ctx.mail, lookback) + notify_events.scan_slots(ctx.db, ctx.mail)
                + notify_events.scan_hosts(ctx.db, ctx.mail, lookback))
    return {"recorded": recorded, **send_due(ctx.db, ctx.mail, batch, max_attempts, retry_for, lease)}


JOBS = {
    "republish_pending": republish_pending,
    "clean_warehouse": clean_warehouse,
    "auto_image": auto_image,
    "time_out_tasks": time_out_tasks,
    "purge_tokens": purge_tokens,
    "expire_downloads": expire_downloads,
    "retry_failed": retry_failed,
    "reconcile": reconcile,
    "move_offline_writers": move_offline_writers,
    "expire_workers": expire_workers,
    "prune_commits": prune_commits,
    "compact_histories": compact_histories,
    "recount_orders": recount_orders,
    "send_notifications": send_notifications,
    "prune_notifications": prune_notifications,
}

# Installed at the first start; admins edit them through /schedules.
DEFAULT_SCHEDULES = [
    {"name": "republish-pending", "job": "republish_pending", "every": 30, "params": {"older_than": 30}},
    {"name": "time-out-tasks", "job": "time_out_tasks", "every": 60,
     "params": {"timeout": 900, "max_attempts": 3}},
    {"name": "purge-tokens", "job": "purge_tokens", "crontab": "17 3 * * *", "params": {}},
    {"name": "expire-downloads", "job": "expire_downloads", "crontab": "23 * * * *", "params": {"after_days": 30}},
    {"name": "clean-warehouse", "job": "clean_warehouse", "every": 600, "params": {}},
    {"name": "retry-failed", "job": "retry_failed", "every": 300,
     "params": {"max_attempts": 3, "older_than": 60, "within": 86400}},
    {"name": "reconcile", "job": "reconcile", "every": 300, "params": {"older_than": 120, "max_attempts": 3}},
    {"name": "move-offline-writers", "job": "move_offline_writers", "every": 60, "params": {"offline_after": 600}},
    {"name": "expire-workers", "job": "expire_workers", "every": 600, "params": {"after": 86400}},
    {"name": "prune-commits", "job": "prune_commits", "every": 600, "params": {"older_than": 86400, "limit": 5000}},
    {"name": "compact-histories", "job": "compact_histories", "every": 300, "params": {"after_days": 90, "limit": 25}},
    {"name": "recount-orders", "job": "recount_orders", "every": 3600, "params": {"settle": 1}},
    {"name": "send-notifications", "job": "send_notifications", "every": 30,
     "params": {"batch": 50, "max_attempts": 3, "retry_for": 604800, "lookback": 86400}},
    {"name": "prune-notifications", "job": "prune_notifications", "crontab": "41 4 * * *",
     "params": {"after_days": 90, "limit": 5000}},
]


def run_job(ctx, job, params):
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}")
    summary = JOBS[job](ctx, **params)
    log.info("%s: %s", job, summary)
    return summary
