"""Every notification kind has a subject, a plain text and an HTML body; customer input is escaped."""

import datetime
import os

import pytest

from cardshop.notify.kinds import KINDS
from cardshop.notify.mail import Settings, build_message, message_id
from cardshop.notify.render import link, render
from tests.unit.config.test_load import REPO

NAME = '<script>alert("x")</script> & Co'


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_renders_a_subject_a_text_and_a_page(kind):
    subject, text, page = render(kind, {"order": "0123456789abcdef01234567", "recipient_name": NAME})
    assert subject and "\n" not in subject and "$" not in subject
    assert text.endswith("\n") and "$" not in text
    assert page.startswith("<!DOCTYPE html>") and "$" not in page


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_customer_input_is_escaped_in_the_html_and_kept_in_the_text(kind):
    _, text, page = render(kind, {"recipient_name": NAME, "message": NAME, "reason": NAME, "note": NAME})
    assert "<script>" not in page
    if NAME in text:
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page


def test_a_line_break_in_a_value_never_reaches_the_subject():
    subject, _, _ = render("order_written", {"order_short": "01234567", "recipient_name": "Ann\r\nBcc: x@y.z"})
    assert subject == "Cards ready to ship: order 01234567 for Ann Bcc: x@y.z"


def test_a_missing_value_reads_as_a_dash():
    subject, _, _ = render("host_offline", {})
    assert subject == "Writer host offline: -"


def test_only_web_addresses_become_links():
    assert link("https://t.example.org/?a=1&b=\"2\"", "Track") == \
        '<a href="https://t.example.org/?a=1&amp;b=&quot;2&quot;">Track</a>'
    assert link("javascript:alert(1)", "Track") == "Track"


def test_the_message_is_multipart_alternative_with_a_message_id_fixed_by_its_key():
    settings = Settings("localhost", sender="shop@cards.example.org")
    subject, text, page = render("order_failed", {"recipient_name": NAME})
    doc = {"_id": "order_failed:abc:3:ada", "to": "ada@example.org", "subject": subject, "text": text,
           "html": page, "created_at": datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)}
    message = build_message(doc, settings)
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Message-ID"] == build_message(doc, settings)["Message-ID"] == \
        message_id("order_failed:abc:3:ada", "shop@cards.example.org")
    assert message["Message-ID"].endswith("@cards.example.org>")
    assert message["Auto-Submitted"] == "auto-generated"


def test_links_to_the_manager_need_its_url():
    assert Settings("localhost").page_url("/fleet") == "-"
    assert Settings("localhost", manager_url="https://m.example.org/").page_url("/fleet") == \
        "https://m.example.org/fleet"



def test_every_template_is_there_in_both_forms():
    names = set(os.listdir(os.path.join(REPO, "cardshop", "notify", "templates")))
    assert {f"{kind}.{suffix}" for kind in KINDS for suffix in ("txt", "html")} <= names
