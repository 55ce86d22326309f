"""What the manager's pages say, as pure functions: statuses, times, slots, an order's image and cards."""

import datetime

from cardshop.manager import wording
from cardshop.states import ORDER
from cardshop.states import tasks
from cardshop.states.orders import LABELS, WORKFLOW


def test_every_order_status_has_a_label_and_a_place_in_the_workflow():
    assert set(WORKFLOW) == ORDER.statuses and len(WORKFLOW) == len(ORDER.statuses)
    assert WORKFLOW[:6] == ("created", "creating", "pending_writer", "writing", "pending_shipment", "shipped")
    assert wording.status_label("pending_writer") == "waiting for a writer" == LABELS["pending_writer"]
    assert wording.status_label("something_new") == "something new"


def test_every_task_status_has_a_label():
    assert set(tasks.LABELS) == set(tasks.STATUSES)
    assert wording.status_label("pending", tasks.LABELS) == "queued"
    assert wording.status_label("requeued", tasks.LABELS) == "back in the queue (card failed)"


def test_counts_by_status_come_in_workflow_order_with_the_missing_ones_at_zero():
    shown = wording.in_workflow_order({"canceled": 2, "created": 1, "unheard_of": 4})
    assert [status for status, _ in shown] == [*WORKFLOW, "unheard_of"]
    assert dict(shown)["writing"] == 0 and dict(shown)["canceled"] == 2


def test_a_time_carries_its_zone():
    paris = datetime.timezone(datetime.timedelta(hours=1))
    assert wording.when("2026-03-01T12:30:00.123+00:00") == "2026-03-01 12:30:00 UTC"
    assert wording.when("2026-03-01T12:30:00Z") == "2026-03-01 12:30:00 UTC"
    assert wording.when(datetime.datetime(2026, 3, 1, 13, 30, tzinfo=paris)) == "2026-03-01 12:30:00 UTC"
    assert wording.when(datetime.datetime(2026, 3, 1, 12, 30)) == "2026-03-01 12:30:00 UTC"  # the API's UTC
    assert wording.clock("2026-03-01T12:30:05+00:00") == "12:30:05 UTC"
    assert wording.when(None) == wording.when("") == ""


def test_a_busy_slot_says_its_step_figures_and_time_left():
    tile = wording.slot_tile({"number": 1, "state": "busy", "step": "downloading", "percent": 42.4, "rate": 38e6,
                              "order": "6b17466911b2588cb636f884", "card": {"size": 16e9, "serial": None},
                              "online": True}, {"eta": 185})
    assert tile["headline"] == "downloading the image" and tile["action"] is None
    assert tile["rows"] == [("Order", "b636f884"), ("Card", "16.0 GB"), ("Done", "42 %"), ("Speed", "38.0 MB/s"),
                            ("Time left", "3 min 5 s")]


def test_a_slot_asks_the_operator_for_what_its_state_needs():
    actions = {state: wording.slot_tile({"number": 2, "state": state})["action"] for state in wording.SLOT_STATES}
    assert actions == {"no_reader": "plug the card reader in", "empty": "insert a card", "checking": None,
                       "ready": None, "busy": None, "done": "remove the card",
                       "failed": "remove the card and set it aside", "refused": "remove the card"}
    offline = wording.slot_tile({"number": 2, "state": "busy", "online": False,
                                 "last_seen": "2026-03-01T08:00:00+00:00"})
    assert offline["state"] == "offline" and offline["action"] == "check writer@2 on the host"
    assert ("Last seen", "2026-03-01 08:00:00 UTC") in offline["rows"]


def test_a_slots_message_names_orders_by_their_short_id_and_does_not_repeat_the_headline():
    tile = wording.slot_tile({"number": 2, "state": "refused",
                              "message": "card refused: too small for order 6b17466911b2588cb636f884"})
    assert tile["message"] == "too small for order b636f884"


def test_an_orders_image_is_told_with_the_figures_progress_counts_against():
    order = {"recipe": {"output": {"size": "500M"}},
             "image": {"image_size": 524288000, "mapped_size": 517400000, "compressed_size": 120100000}}
    assert wording.image_text(order) == ("524.3 MB image (output.size 500M), 517.4 MB of data written and verified "
                                         "on each card, 120.1 MB to download")
    assert wording.image_text({"recipe": {}}) == ""


def test_written_cards_are_rows_of_host_slot_serial_size_and_time():
    order = {"cards": [{"task": "t", "host": "rack-3", "slot": 2, "serial": None, "size": 15931539456,
                        "at": "2026-03-01T12:30:00+00:00"}]}
    assert wording.written_cards(order) == [{"host": "rack-3", "slot": 2, "serial": "—", "size": "15.9 GB",
                                             "at": "2026-03-01 12:30:00 UTC"}]
