"""The beat's send_notifications job against FerretDB and a real SMTP server (aiosmtpd on loopback):
each event mails the right people once, a restarted or second beat sends nothing twice, a server that is
away gets the mail once it is back, a 5xx ends as failed."""

import datetime
import threading
import time

import pymongo
import pytest

from cardshop.auth import roles
from cardshop.beat.jobs import DEFAULT_SCHEDULES, Context, prune_notifications, reconcile, send_notifications
from cardshop.monitor.apply import APPLIED
from cardshop.monitor.workers import COALESCED, WorkerRegistry
from cardshop.notify.mail import Settings
from cardshop.states import ORDER
from cardshop.store import ensure_indexes, notifications, now, orders, tasks, writer_slots
from cardshop.store.transitions import transition
from tests.conftest import unique
from tests.integration.beat.smtp_server import SmtpServer
from tests.integration.warehouse.test_warehouse import self_signed

OPERATOR_KINDS = ["order_written", "order_failed", "order_stranded", "slot_refused", "host_offline"]
CUSTOMER = "<b>Tom & Jerry</b>"  # customer input, escaped in the HTML


@pytest.fixture
def shop(ferretdb):
    """A database of its own (the job scans everything changed lately), with two operators subscribed."""
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    name = unique("notify")
    database = client[name]
    ensure_indexes(database)
    moment = now()
    for username, role, kinds in (("ada", "admin", OPERATOR_KINDS), ("bob", "manager", ["order_failed"]),
                                  ("carl", "manager", []), ("wendy", "writer", OPERATOR_KINDS)):
        database.users.insert_one({"username": username, "email": f"{username}@example.org", "role": role,
                                   "active": True, "notify": kinds, "created_at": moment})
    yield database
    client.drop_database(name)
    client.close()


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def beat(db, server):
    """A freshly started beat's context (nothing in memory), mailing through `server`."""
    return Context(db, publisher=None, mail=Settings("127.0.0.1", server.port, starttls=False,
                                                     sender="cardshop@shop.example.org",
                                                     manager_url="https://shop.example.org"))


def place(db, quantity=2, email="pupil@example.org"):
    order, _ = orders.record_order(db, {
        "recipe": {"files": []}, "sd_card": {"size": 16, "type": "physical"}, "quantity": quantity,
        "recipient": {"name": CUSTOMER, "email": email, "address": "1 Main St"}, "warehouse": "main"},
        "tester", now())
    return order["_id"]


def step(db, order_id, *events, **kwargs):
    for event in events:
        transition(db.orders, order_id, ORDER, event, "tester", **kwargs)


def written_and_shipped(db):
    order_id = place(db)
    step(db, order_id, "create_started", "create_done_physical", "write_started", "writes_done")
    step(db, order_id, "ship", extra={"shipment": {"carrier": "Post", "tracking_number": "TR123",
                                                   "tracking_url": "https://track.example.org/TR123"}})
    return order_id


def failed(db):
    order_id = place(db)
    step(db, order_id, "create_started")
    step(db, order_id, "create_failed", note="recipe file https://x.example.org/a.zim does not answer")
    return order_id


def refusing_slot(db):
    name = "writer-1@rack.slot-2"
    db.workers.insert_one({"_id": name, "username": "writer-1", "host": "rack", "role": "writer", "online": True,
                           "last_seen": now(), "live_until": now() + datetime.timedelta(minutes=5),
                           "slot": {"number": 2, "state": "refused", "card": {"size": 64_000_000_000,
                                                                                 "serial": "0xabc"},
                                    "message": "card is mounted or in use by another program"}})
    return name


def slot_record(db, name, seen_ago, live_for=90):
    """A writer slot's record as the monitor files it: seen `seen_ago` s ago, live `live_for` s after that."""
    username, _, rest = name.partition("@")
    host, _, number = rest.partition(".slot-")
    seen = now() - datetime.timedelta(seconds=seen_ago)
    db.workers.insert_one({"_id": name, "username": username, "host": host, "role": "writer", "online": True,
                           "last_seen": seen, "live_until": seen + datetime.timedelta(seconds=live_for),
                           "slot": {"number": int(number), "state": "ready"}})


def offline_host(db):
    """Host writer-2@rack: both its slots silent for minutes. Host writer-3@desk: one slot stopped, one beats."""
    slot_record(db, "writer-2@rack.slot-1", 600)
    slot_record(db, "writer-2@rack.slot-2", 400)
    slot_record(db, "writer-3@desk.slot-1", 600)
    slot_record(db, "writer-3@desk.slot-2", 5)
    return "writer-2@rack"


def subjects(mailbox, address):
    return sorted(message["Subject"] for message in mailbox.to(address))


def test_each_event_mails_its_subscribers_once_and_the_recipient_when_shipped(shop, smtp):
    shipped, broken = written_and_shipped(shop), failed(shop)
    refusing_slot(shop)
    offline_host(shop)
    summary = send_notifications(beat(shop, smtp))
    assert summary["sent"] == summary["recorded"] == 6, summary
    mailbox = smtp.mailbox
    assert subjects(mailbox, "ada@example.org") == sorted([
        f"Cards ready to ship: order {shipped[-8:]} for {CUSTOMER}", f"Order failed: {broken[-8:]} (creation_failed)",
        "Slot refuses its card: writer-1@rack.slot-2", "Writer host offline: writer-2@rack"])
    assert subjects(mailbox, "bob@example.org") == [f"Order failed: {broken[-8:]} (creation_failed)"]
    assert mailbox.to("carl@example.org") == [] and mailbox.to("wendy@example.org") == []
    [to_customer] = mailbox.to("pupil@example.org")
    assert to_customer["Subject"] == "Your SD cards are on their way"
    assert to_customer.get_content_type() == "multipart/alternative"
    text = to_customer.get_body(("plain",)).get_content()
    page = to_customer.get_body(("html",)).get_content()
    assert "TR123" in text and "https://track.example.org/TR123" in text and f"Hello {CUSTOMER}" in text
    assert '<a href="https://track.example.org/TR123">' in page
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in page and CUSTOMER not in page
    [failure] = mailbox.to("bob@example.org")
    assert "does not answer" in failure.get_body(("plain",)).get_content()
    assert f"https://shop.example.org/orders/{broken}" in failure.get_body(("plain",)).get_content()

    again = send_notifications(beat(shop, smtp))  # a restarted beat: nothing in memory
    assert again["recorded"] == again["sent"] == 0, again
    assert len(mailbox.messages) == 6


def test_a_step_passed_between_two_runs_is_told_and_a_later_step_of_the_same_order_too(shop, smtp):
    order_id = place(shop, email="later@example.org")
    step(shop, order_id, "create_started", "create_done_physical", "write_started")
    send_notifications(beat(shop, smtp))
    assert smtp.mailbox.messages == []
    step(shop, order_id, "writes_done")
    send_notifications(beat(shop, smtp))
    step(shop, order_id, "ship", extra={"shipment": {"carrier": "Post", "tracking_number": "TR9"}})
    send_notifications(beat(shop, smtp))
    assert len(smtp.mailbox.to("ada@example.org")) == 1
    [shipped] = smtp.mailbox.to("later@example.org")
    assert "Follow it here" not in shipped.get_body(("plain",)).get_content()  # no tracking URL, no link


def test_a_stranded_order_found_by_reconcile_is_told_once(shop, smtp):
    order_id = place(shop)
    shop.tasks.delete_many({"order": order_id})  # its create task lost: stranded in `created`
    ctx = beat(shop, smtp)
    assert reconcile(ctx, older_than=0)["repaired"] == 1
    assert reconcile(ctx, older_than=0)["repaired"] == 0  # repaired: not stranded any more
    send_notifications(ctx)
    send_notifications(beat(shop, smtp))
    [told] = smtp.mailbox.to("ada@example.org")
    assert told["Subject"] == f"Order stuck: {order_id[-8:]} (created)"
    assert "created with no live create task" in told.get_body(("plain",)).get_content()
    assert tasks.of_kind(shop, order_id, "create")


def test_two_beats_at_once_send_each_mail_once(shop, smtp):
    for _ in range(8):
        failed(shop)
    barrier = threading.Barrier(2)
    summaries = []

    def run():
        ctx = beat(shop, smtp)
        barrier.wait()
        summaries.append(send_notifications(ctx))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(summary["sent"] for summary in summaries) == 16, summaries
    ids = [message["Message-ID"] for _, message in smtp.mailbox.messages]
    assert len(ids) == len(set(ids)) == 16


def time_passes(db):
    """Every waiting notification comes due (its retry wait or lease is over)."""
    db.notifications.update_many({"state": notifications.PENDING}, {"$set": {"next_try": now()}})


def test_a_server_away_gets_the_mail_once_it_is_back(shop, smtp):
    failed(shop)
    smtp.stop()
    down = send_notifications(beat(shop, smtp))
    assert down["recorded"] == 2 and down["sent"] == 0 and down["retry"] == 1, down  # the other waits untried
    waiting = shop.notifications.find_one({"last_error": {"$exists": True}})
    assert "cannot reach the SMTP server" in waiting["last_error"] and waiting["next_try"] > now()
    assert send_notifications(beat(shop, smtp))["retry"] == 1  # the untried one, still away
    smtp.start()
    assert send_notifications(beat(shop, smtp))["sent"] == 0  # the waits are not over yet
    time_passes(shop)
    assert send_notifications(beat(shop, smtp))["sent"] == 2
    time_passes(shop)
    assert send_notifications(beat(shop, smtp))["sent"] == 0
    assert len(smtp.mailbox.to("ada@example.org")) == len(smtp.mailbox.to("bob@example.org")) == 1


def test_a_permanent_refusal_ends_as_failed_after_its_attempts(shop, smtp):
    failed(shop)
    smtp.mailbox.refuse["bob@example.org"] = "550 5.1.1 no such mailbox"
    for _ in range(5):
        send_notifications(beat(shop, smtp))
        time_passes(shop)
    assert smtp.mailbox.attempts["bob@example.org"] == 3
    given_up = shop.notifications.find_one({"to": "bob@example.org"})
    assert given_up["state"] == notifications.FAILED and given_up["last_error"].startswith("recipient refused: 550")
    assert len(smtp.mailbox.to("ada@example.org")) == 1  # the others went


def test_a_beat_that_died_while_sending_is_replaced_after_its_lease_with_the_same_message_id(shop, smtp):
    failed(shop)
    ctx = beat(shop, smtp)
    send_notifications(ctx)
    first = smtp.mailbox.to("ada@example.org")[0]["Message-ID"]
    # Another notification, taken by a beat that then died (between the server's accept and its mark).
    shop.notifications.update_one({"to": "ada@example.org"}, {"$set": {"state": notifications.PENDING}})
    doc = shop.notifications.find_one({"to": "ada@example.org"})
    assert notifications.take(shop, doc, now() + datetime.timedelta(seconds=300)) is not None
    assert send_notifications(beat(shop, smtp))["sent"] == 0  # its lease keeps it
    time_passes(shop)
    assert send_notifications(beat(shop, smtp))["sent"] == 1
    assert [message["Message-ID"] for message in smtp.mailbox.to("ada@example.org")] == [first, first]


def test_without_mail_settings_the_job_does_nothing(shop):
    failed(shop)
    assert send_notifications(Context(shop, publisher=None)) == {"mail": "off"}
    assert shop.notifications.count_documents({}) == 0


def test_the_job_is_scheduled_by_default():
    assert any(entry["job"] == "send_notifications" for entry in DEFAULT_SCHEDULES)


def test_a_relay_is_reached_over_starttls_with_a_login_and_a_refused_login_keeps_the_mail(shop, tmp_path):
    tls = self_signed(tmp_path)
    relay = SmtpServer(tls=tls, login=("cardshop", "right password")).start()
    try:
        failed(shop)

        def through_relay(password):
            return Context(shop, publisher=None, mail=Settings(
                "127.0.0.1", relay.port, starttls=True, ca_file=tls["cert_file"], username="cardshop",
                password=password, sender="cardshop@shop.example.org"))
        refused = send_notifications(through_relay("wrong password"))
        assert refused["sent"] == 0 and refused["retry"] == 1, refused
        waiting = shop.notifications.find_one({"last_error": {"$exists": True}})
        assert waiting["state"] == notifications.PENDING and "refused the login: 535" in waiting["last_error"]
        time_passes(shop)
        assert send_notifications(through_relay("right password"))["sent"] == 2
    finally:
        relay.stop()
    assert len(relay.mailbox.to("ada@example.org")) == len(relay.mailbox.to("bob@example.org")) == 1


def slot_heartbeat(worker, state, message=None, serial=None):
    return {"worker": worker, "online": True, "slots": 1, "images": [], "slot": {
        "number": 1, "state": state, "message": message, "card": {"size": 32 * 10 ** 9, "serial": serial},
        "task": None, "order": None, "step": None, "percent": None, "rate": None}}


def test_what_the_monitor_files_of_a_refusing_slot_and_a_silent_host_is_told(shop, smtp):
    """The worker records as the monitor's own code files them from heartbeats, not written by hand."""
    moment = now()
    for username, host in (("refuser", "desk"), ("silent", "rack")):
        writer_slots.replace_host(shop, username, host, [{"number": 1, "reader": {"ID_PATH": "x"}}], "ada", moment)
    monitor = WorkerRegistry(shop, lambda name: roles.WRITER if name in ("refuser", "silent") else None, live_for=1)
    assert monitor.on_heartbeat(slot_heartbeat("refuser@desk.slot-1", "refused", "card is read-only: unlock it",
                                                "0xfeed"), "refuser") == APPLIED
    assert monitor.on_heartbeat(slot_heartbeat("silent@rack.slot-1", "ready"), "silent") == APPLIED
    time.sleep(1.5)  # longer than the monitor's writer_timeout: both hosts' records are past their live_until
    assert monitor.on_heartbeat(slot_heartbeat("refuser@desk.slot-1", "refused", "card is read-only: unlock it",
                                                "0xfeed"), "refuser") in (APPLIED, COALESCED)
    monitor.flush(force=True)
    send_notifications(beat(shop, smtp))
    told = {message["Subject"]: message for message in smtp.mailbox.to("ada@example.org")}
    assert sorted(told) == ["Slot refuses its card: refuser@desk.slot-1", "Writer host offline: silent@rack"]
    text = told["Slot refuses its card: refuser@desk.slot-1"].get_body(("plain",)).get_content()
    assert "card is read-only: unlock it" in text and "serial 0xfeed, 32.0 GB" in text


def test_records_of_mails_sent_or_given_up_long_ago_are_pruned_and_the_rest_kept(shop):
    old, recent = now() - datetime.timedelta(days=100), now() - datetime.timedelta(days=3)
    for name, state, moment in (("old-sent", "sent", old), ("old-failed", "failed", old),
                                ("old-pending", "pending", old), ("recent-sent", "sent", recent)):
        shop.notifications.insert_one({"_id": name, "state": state, "next_try": moment, "created_at": moment})
    assert prune_notifications(Context(shop, publisher=None), after_days=90) == {"deleted": 2}
    assert sorted(doc["_id"] for doc in shop.notifications.find()) == ["old-pending", "recent-sent"]
