"""The real cardshop-beat daemon mails through a real SMTP server, and a restarted beat sends nothing twice."""

import pymongo
import pytest

from cardshop.beat.schedule import install_defaults
from cardshop.store import ensure_indexes, now
from devstack.processes import wait_until
from devstack.servers import Beat
from tests.conftest import unique
from tests.integration.beat.smtp_server import SmtpServer
from tests.integration.beat.test_notifications import failed, place, step


@pytest.fixture
def shop(pipeline):
    """A database of its own for the beat (its jobs read everything), with an operator subscribed."""
    client = pymongo.MongoClient(pipeline.ferretdb.url, tz_aware=True)
    name = unique("notifyd")
    db = client[name]
    ensure_indexes(db)
    db.users.insert_one({"username": "ada", "email": "ada@example.org", "role": "admin", "active": True,
                         "notify": ["order_written", "order_failed"], "created_at": now()})
    install_defaults(db)  # as the beat does at its first start; then its mail job every 2 s
    db.schedules.update_one({"name": "send-notifications"}, {"$set": {"every": 2}})
    yield db
    client.drop_database(name)
    client.close()


def test_the_beat_daemon_mails_each_event_once_across_a_restart(pipeline, shop, tmp_path):
    smtp = SmtpServer().start()
    mail = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "from": "cardshop@shop.example.org"}
    beat = Beat(str(tmp_path), pipeline.ferretdb.url, shop.name, pipeline.rabbitmq.url,
                pipeline.system_password_file, pipeline.scheduler.url, mail=mail)
    try:
        broken = failed(shop)
        beat.start()
        wait_until(lambda: smtp.mailbox.to("ada@example.org"), timeout=60)
        beat.stop()
        beat.start()  # a new process: nothing in memory
        written = place(shop)
        step(shop, written, "create_started", "create_done_physical", "write_started", "writes_done")
        wait_until(lambda: len(smtp.mailbox.to("ada@example.org")) >= 2, timeout=60)
        runs = shop.schedules.find_one({"name": "send-notifications"})["total_run_count"]
        wait_until(lambda: shop.schedules.find_one({"name": "send-notifications"})["total_run_count"] >= runs + 2,
                   timeout=60)  # two more runs: anything owed twice would have gone by now
    finally:
        beat.stop()
        smtp.stop()
    subjects = sorted(message["Subject"] for message in smtp.mailbox.to("ada@example.org"))
    assert subjects == sorted([f"Order failed: {broken[-8:]} (creation_failed)",
                               f"Cards ready to ship: order {written[-8:]} for <b>Tom & Jerry</b>"])
