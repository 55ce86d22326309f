"""The manager in a real browser (Debian's chromium, driven by Playwright), against a real scheduler and FerretDB.

Screenshots of the main pages go to var/test-output/manager-screenshots (or $CARDSHOP_TEST_OUTPUT/...).
"""

import datetime
import itertools
import os
import pathlib
import re
import urllib.parse

import bson
import pymongo
import pytest

from cardshop.client import ApiClient
from cardshop.states import ORDER, task_machine
from cardshop.states.orders import LABELS, WORKFLOW
from cardshop.store import orders
from cardshop.store.transitions import transition
from devstack.manager import Manager
from devstack.processes import wait_until
from devstack.servers import REPO, Scheduler
from tests.conftest import TEST_AUTH, order_body, unique
from tests.integration.api.test_task_logs import file_lines

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
XSS = "<script>alert(1)</script>"
WAIT_MS = 15000

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


@pytest.fixture(scope="session")
def browser():
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots():
    # Not pytest's temp folder: parallel runs on this machine rotate it away.
    root = os.environ.get("CARDSHOP_TEST_OUTPUT") or os.path.join(REPO, "var", "test-output")
    folder = pathlib.Path(root) / "manager-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Tab:
    """A browser tab that records console errors, page errors and dialogs (none is expected)."""

    def __init__(self, context, base):
        self.page = context.new_page()
        self.base = base
        self.problems = []
        self.page.on("console", lambda message: message.type == "error" and self.problems.append(
            f"console: {message.text}"))
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("dialog", lambda dialog: (self.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))

    def go(self, path):
        return self.page.goto(self.base + path)

    def fill(self, fields):
        for selector, value in fields.items():
            self.page.fill(selector, value)

    def log_in(self, username, password):
        self.go("/login")
        self.fill({"input[name=username]": username, "input[name=password]": password})
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.base + "/")


@pytest.fixture
def tab(browser, manager):
    context = browser.new_context()
    yield Tab(context, manager.url)
    context.close()


@pytest.fixture
def second_tab(browser, manager):
    context = browser.new_context()
    yield Tab(context, manager.url)
    context.close()


def test_an_operator_composes_a_recipe_places_an_order_and_watches_it_change_without_reloading(
        tab, make_user, warehouse, db):
    user = make_user("manager")
    tab.log_in(user.username, user.password)
    tab.go("/orders/new")
    page = tab.page
    tab.fill({"input[name=output_size]": "1G", "input[name=file_to_0]": "/data/hello.txt",
              "textarea[name=file_content_0]": "hello"})
    page.click("button[value=estimate]")
    assert page.text_content("#suggestion") == "4 GB"
    assert page.text_content("#estimate-bytes") == "5"
    page.select_option("select[name=card_size]", "4")
    tab.fill({"input[name=quantity]": "2", "input[name=recipient_name]": "Ada Lovelace",
              "input[name=recipient_email]": "ada@example.org", "textarea[name=recipient_address]": "1 Main St"})
    page.click("#place-order")
    page.wait_for_url(re.compile(r".*/orders/[0-9a-f]{24}$"))
    order_id = page.url.rsplit("/", 1)[1]
    assert page.text_content("#order-status") == "placed"
    order = db.orders.find_one({"_id": order_id})
    assert order["created_by"] == user.username and order["recipe"]["files"][0]["content"] == "hello"

    page.evaluate("window.notReloaded = true")
    task = db.tasks.find_one({"order": order_id})
    # What the monitor does on a creator's reports: the task moves, the order follows, progress is written.
    transition(db.tasks, task["_id"], task_machine("create"), "received", "creator-x")
    transition(db.orders, order_id, ORDER, "create_started", "creator-x")
    db.tasks.update_one({"_id": task["_id"]}, {"$set": {"progress": {"percent": 42, "step": "downloading"}}})
    file_lines(db, task["_id"], 3)

    playwright_api.expect(page.locator("#order-status")).to_have_attribute("data-status", "creating", timeout=WAIT_MS)
    assert page.text_content("#order-status") == "making the image"
    row = page.locator(f"tr[data-task='{task['_id']}']")
    playwright_api.expect(row.locator(".task-status")).to_have_text("claimed by a worker", timeout=WAIT_MS)
    playwright_api.expect(row.locator(".progress-text")).to_contain_text("downloading · 42 %", timeout=WAIT_MS)
    playwright_api.expect(page.locator("#log-lines li")).to_have_count(3, timeout=WAIT_MS)
    assert "warning: line 3" in page.text_content("#log-lines")
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#timeline li").count() == 2
    assert not tab.problems


def test_an_operator_cancels_another_order(tab, make_user, warehouse, scheduler):
    user = make_user("manager")
    api = ApiClient(scheduler.url, user.access)
    placed = api.post("/orders", order_body())
    assert placed.status == 201, placed
    tab.log_in(user.username, user.password)
    tab.go(f"/orders/{placed.body['_id']}")
    tab.page.fill("#cancel-form input[name=reason]", "customer changed their mind")
    tab.page.click("#cancel-order")
    playwright_api.expect(tab.page.locator("#order-status")).to_have_text("canceled")
    assert api.get(f"/orders/{placed.body['_id']}").body["status"] == "canceled"
    playwright_api.expect(tab.page.locator("#cancel-form")).to_be_hidden()
    assert not tab.problems


def test_an_admin_creates_a_writer_user(tab, scheduler, admin):
    tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
    tab.go("/users")
    username = unique("wr")
    page = tab.page
    tab.fill({"#new-user input[name=username]": username, "#new-user input[name=email]": f"{username}@example.org",
              "#new-user input[name=password]": "correct horse battery"})
    page.select_option("#new-user select[name=role]", "writer")
    page.click("#new-user button[type=submit]")
    playwright_api.expect(page.locator(f"tr[data-user='{username}']")).to_be_visible()
    created = admin.get(f"/users/{username}")
    assert created.status == 200 and created.body["role"] == "writer" and created.body["active"]
    assert not tab.problems


def test_an_admin_changes_a_users_role_disables_enables_and_resets_their_password(tab, scheduler, make_user, admin):
    user = make_user("manager")
    tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
    tab.go("/users")
    row = tab.page.locator(f"tr[data-user='{user.username}']")
    row.locator("select[name=role]").select_option("writer")
    row.locator("button", has_text="Change role").click()
    playwright_api.expect(tab.page.locator(".notice")).to_contain_text(f"role {user.username}")
    assert admin.get(f"/users/{user.username}").body["role"] == "writer"
    row.locator("button", has_text="Disable").click()
    playwright_api.expect(row.locator("button", has_text="Enable")).to_be_visible()
    assert admin.get(f"/users/{user.username}").body["active"] is False
    row.locator("button", has_text="Enable").click()
    playwright_api.expect(row.locator("button", has_text="Disable")).to_be_visible()
    row.locator("input[name=password]").fill("a brand new password")
    row.locator("button", has_text="Reset").click()
    playwright_api.expect(tab.page.locator(".notice")).to_contain_text(f"password {user.username}")
    assert ApiClient(scheduler.url).post("/auth/authorize", {"username": user.username,
                                                             "password": "a brand new password"}).status == 200
    assert not tab.problems


def test_an_admin_adds_edits_and_pauses_an_auto_image_schedule(tab, scheduler, admin, warehouse, db):
    name = unique("nightly")
    tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
    tab.go("/schedules/new")
    tab.fill({"input[name=name]": name, "input[name=crontab]": "0 3 * * *",
              "textarea[name=params]": f"name: {name}\nrecipe:\n  output: {{size: 1G}}\n"
                                       "  files: [{to: /data/a.txt, content: a}]\n"})
    tab.page.select_option("select[name=job]", "auto_image")
    tab.page.click("#schedule-form button[type=submit]")
    row = tab.page.locator(f"tr[data-schedule='{name}']")
    playwright_api.expect(row).to_contain_text("0 3 * * *")
    tab.go(f"/schedules/{name}")
    tab.page.fill("input[name=crontab]", "30 4 * * *")
    tab.page.click("#schedule-form button[type=submit]")
    playwright_api.expect(row).to_contain_text("30 4 * * *")
    row.locator("button", has_text="Pause").click()
    playwright_api.expect(row).to_contain_text("paused")
    stored = admin.get(f"/schedules/{name}").body
    assert stored["crontab"] == "30 4 * * *" and stored["enabled"] is False and stored["params"]["name"] == name
    # How its last run went, as the beat records it.
    db.schedules.update_one({"name": name}, {"$set": {"last_duration": 9.5, "last_result": {"error": "boom"}}})
    tab.go("/schedules")
    playwright_api.expect(row.locator("td.took")).to_have_text("9.50 s")
    playwright_api.expect(row.locator("td.result.failed")).to_have_text('{"error": "boom"}')
    tab.go(f"/orders/new?schedule={name}")  # its recipe can be ordered
    assert tab.page.input_value("input[name=output_size]") == "1G"
    assert not tab.problems


def test_a_pending_shipment_is_marked_shipped_with_its_tracking(tab, make_user, warehouse, scheduler, db):
    user = make_user("manager")
    api = ApiClient(scheduler.url, user.access)
    order_id = api.post("/orders", order_body()).body["_id"]
    for event in ("create_started", "create_done_physical", "write_started", "writes_done"):
        transition(db.orders, order_id, ORDER, event, "monitor")
    tab.log_in(user.username, user.password)
    tab.go(f"/orders/{order_id}")
    tab.fill({"#ship-form input[name=carrier]": "La Poste", "#ship-form input[name=tracking_number]": "LP123",
              "#ship-form input[name=tracking_url]": "not a url"})
    tab.page.click("#ship-form button[type=submit]")
    playwright_api.expect(tab.page.locator("#error-ship")).to_contain_text("tracking_url")
    tab.page.fill("#ship-form input[name=tracking_url]", "https://track.example/LP123")
    tab.page.click("#ship-form button[type=submit]")
    playwright_api.expect(tab.page.locator("#order-status")).to_have_text("shipped")
    shipment = api.get(f"/orders/{order_id}").body["shipment"]
    assert shipment["carrier"] == "La Poste" and shipment["by"] == user.username
    assert all("status of 400" in problem for problem in tab.problems)  # the refused form, answered 400


def test_more_cards_of_a_made_image_are_ordered_from_its_order_page(tab, make_user, warehouse, scheduler, db,
                                                                    screenshots):
    user = make_user("manager")
    order_id = written_order(ApiClient(scheduler.url, user.access), db, cards=0)
    folder = db.tasks.find_one({"order": order_id, "kind": "create"})["_id"]
    db.orders.update_one({"_id": order_id}, {"$set": {"image.warehouse": warehouse, "image.folder": folder,
                                                      "image.files": {key: f"/{folder}/{order_id}.{ext}" for key, ext in
                                                                      (("image", "img.zst"), ("bmap", "bmap"),
                                                                       ("sha256", "sha256"))}}})
    tab.log_in(user.username, user.password)
    tab.go(f"/orders/{order_id}")
    page = tab.page
    assert page.is_visible("#more-form")
    tab.fill({"#more-form input[name=card_size]": "1", "#more-form input[name=quantity]": "3",
              "#more-form input[name=recipient_name]": "Cleo"})
    page.click("#order-more")
    playwright_api.expect(page.locator("#error-more")).to_contain_text("field 'sd_card.size'")
    page.locator("#actions").screenshot(path=str(screenshots / "order-more-refused.png"))
    page.fill("#more-form input[name=card_size]", "16")
    page.click("#order-more")
    page.wait_for_url(re.compile(r".*/orders/(?!" + order_id + r")[0-9a-f]{24}$"))
    assert order_id[-8:] in page.text_content("#image-source")
    assert page.text_content("#recipient-name") == "Cleo"
    placed = db.orders.find_one({"_id": page.url.rsplit("/", 1)[1]})
    assert placed["image_source"]["order"] == order_id and placed["quantity"] == 3
    assert placed["status"] == "pending_writer" and placed["sd_card"] == {"size": 16, "type": "physical"}
    assert all("status of 400" in problem for problem in tab.problems)  # the refused form, answered 400


def test_an_api_refusal_is_shown_next_to_the_field_it_concerns(tab, scheduler):
    tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
    tab.go("/users")
    page = tab.page
    tab.fill({"#new-user input[name=username]": "Not A Name", "#new-user input[name=email]": "x@example.org",
              "#new-user input[name=password]": "correct horse battery"})
    page.click("#new-user button[type=submit]")
    playwright_api.expect(page.locator("#error-username")).to_contain_text("lowercase letters")
    assert page.text_content("#error-email") == ""


def test_the_order_list_filters_by_status_searches_on_the_server_and_pages(tab, make_user, warehouse, scheduler, db):
    user = make_user("manager")
    api = ApiClient(scheduler.url, user.access)
    name = unique("Grace (a.*b) ")
    ids = [api.post("/orders", order_body(recipient={"name": name, "email": "g@example.org", "address": "x"}))
           .body["_id"] for _ in range(27)]
    api.post(f"/orders/{ids[0]}/cancel")
    # 1,000 newer orders: the search is the API's, not a scan of the newest ones.
    model = db.orders.find_one({"_id": ids[1]})
    newer = [{**model, "_id": str(bson.ObjectId()), "recipient": {**model["recipient"], "name": "Filler"},
              "created_at": model["created_at"] + datetime.timedelta(seconds=1 + index)} for index in range(1000)]
    newer = [{**order, **orders.searchable(order)} for order in newer]  # found by their own terms
    db.orders.insert_many(newer)
    try:
        tab.log_in(user.username, user.password)
        tab.go("/orders")
        tab.page.fill("input[name=q]", name.upper())
        tab.page.click(".filters button[type=submit]")
        # A search is not counted: the page says how many it shows, and "+" when older ones follow.
        playwright_api.expect(tab.page.locator("#order-count")).to_have_text("25+ orders")
        assert tab.page.locator("#orders tbody tr").count() == 25
        tab.page.click("a[rel=next]")
        assert tab.page.locator("#orders tbody tr").count() == 2
        playwright_api.expect(tab.page.locator("#order-count")).to_have_text("2 orders")
        assert tab.page.locator("a[rel=next]").count() == 0
        tab.page.click("a[rel=first]")
        assert tab.page.locator("#orders tbody tr").count() == 25
        tab.go("/orders")
        tab.page.check("input[name=status][value=canceled]")
        tab.page.fill("input[name=q]", name)
        tab.page.click(".filters button[type=submit]")
        playwright_api.expect(tab.page.locator("#order-count")).to_have_text("1 order")
        assert ids[0][-8:] in tab.page.text_content("#orders tbody")
        tab.go("/orders?" + urllib.parse.urlencode({"q": name.replace("a.*b", "a.*")}))  # taken literally
        playwright_api.expect(tab.page.locator("#order-count")).to_have_text("0 orders")
        tab.go("/orders?status=canceled")  # without a search, the count is the API's count by status
        canceled = api.get("/stats/orders").body["by_status"]["canceled"]
        playwright_api.expect(tab.page.locator("#order-count")).to_have_text(
            f"{canceled} order{'' if canceled == 1 else 's'}")
        assert not tab.problems
    finally:
        db.orders.delete_many({"_id": {"$in": [order["_id"] for order in newer]}})


def test_a_manager_cannot_reach_the_users_page_and_the_api_refuses_it_too(tab, make_user, scheduler):
    user = make_user("manager")
    tab.log_in(user.username, user.password)
    assert tab.page.locator("header nav a[href='/users']").count() == 0
    reply = tab.go("/users")
    assert reply.status == 403
    assert "for admin users" in tab.page.text_content("#error-text")
    assert ApiClient(scheduler.url, user.access).get("/users").status == 403


def test_a_writer_cannot_log_into_the_manager(tab, make_user):
    user = make_user("writer")
    tab.go("/login")
    tab.fill({"input[name=username]": user.username, "input[name=password]": user.password})
    tab.page.click("button[type=submit]")
    assert "cannot use the manager" in tab.page.text_content("#login-error")


def test_a_form_post_without_its_csrf_token_is_refused(tab, make_user, warehouse, db):
    user = make_user("manager")
    tab.log_in(user.username, user.password)
    before = db.orders.count_documents({"created_by": user.username})
    form = {"recipe_source": "compose", "output_size": "1G", "card_size": "4", "quantity": "1",
            "card_type": "physical", "recipient_name": "Eve", "recipient_email": "eve@example.org",
            "recipient_address": "x", "action": "place"}
    without = tab.page.request.post(tab.base + "/orders/new", form=form, max_redirects=0)
    wrong = tab.page.request.post(tab.base + "/orders/new", form={**form, "csrf": "0" * 64}, max_redirects=0)
    assert without.status == 403 and wrong.status == 403
    assert "CSRF" in without.text()
    assert db.orders.count_documents({"created_by": user.username}) == before
    login = tab.page.request.post(tab.base + "/login", form={"username": user.username, "password": user.password},
                                  max_redirects=0)
    assert login.status == 403


def test_a_session_cookie_is_http_only_and_same_site_strict(tab, make_user):
    user = make_user("manager")
    tab.log_in(user.username, user.password)
    cookie = next(cookie for cookie in tab.page.context.cookies() if cookie["name"] == "cardshop_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_an_operator_keeps_a_recipe_named_with_markup_duplicates_exports_and_orders_it(tab, make_user, warehouse,
                                                                                      scheduler):
    user = make_user("manager")
    tab.log_in(user.username, user.password)
    tab.go("/recipes/new")
    tab.fill({"input[name=name]": XSS, "input[name=output_size]": "2G", "input[name=file_to_0]": "/data/a.txt"})
    tab.page.fill("textarea[name=file_content_0]", "twelve bytes")
    playwright_api.expect(tab.page.locator("#estimate-bytes")).to_have_text("12")  # live, before any submit
    tab.page.click("#save-recipe")
    tab.page.wait_for_url(re.compile(r".*/recipes\?done=.*"))
    row = tab.page.locator("#recipes tbody tr", has_text=XSS).first
    assert row.locator(".recipe-name").text_content() == XSS  # the markup is text
    assert tab.page.locator("script").count() == 1
    recipe_id = row.get_attribute("data-recipe")
    export = tab.page.request.get(f"{tab.base}/recipes/{recipe_id}.json")
    assert export.ok and export.json() == {"output": {"size": "2G"},
                                           "files": [{"to": "/data/a.txt", "content": "twelve bytes"}]}
    row.locator("button", has_text="Duplicate").click()
    playwright_api.expect(tab.page.locator("input[name=name]")).to_have_value(f"Copy of {XSS}")
    tab.go(f"/orders/new?recipe={recipe_id}")
    assert tab.page.input_value("input[name=output_size]") == "2G"
    tab.fill({"input[name=recipient_name]": "Ada", "input[name=recipient_email]": "ada@example.org",
              "textarea[name=recipient_address]": "1 Main St"})
    tab.page.click("#place-order")
    tab.page.wait_for_url(re.compile(r".*/orders/[0-9a-f]{24}$"))
    order = ApiClient(scheduler.url, user.access).get("/orders/" + tab.page.url.rsplit("/", 1)[1]).body
    assert order["recipe"]["files"][0]["content"] == "twelve bytes" and order["sd_card"]["size"] == 4
    assert not tab.problems


def test_markup_in_a_recipe_and_an_order_renders_as_text(tab, make_user, warehouse, scheduler):
    user = make_user("manager")
    api = ApiClient(scheduler.url, user.access)
    body = order_body(recipient={"name": XSS, "email": "x@example.org", "address": XSS})
    body["recipe"]["files"][0]["content"] = XSS
    placed = api.post("/orders", body)
    assert placed.status == 201, placed
    tab.log_in(user.username, user.password)
    for path in (f"/orders/{placed.body['_id']}", "/orders", f"/orders/new?from={placed.body['_id']}"):
        tab.go(path)
        assert tab.page.locator("script").count() == 1  # ours (live.js) only
        assert XSS in tab.page.content().replace("&lt;", "<").replace("&gt;", ">")
    tab.go(f"/orders/{placed.body['_id']}")
    assert tab.page.text_content("#recipient-name") == XSS
    tab.go(f"/orders/new?from={placed.body['_id']}")
    assert tab.page.input_value("textarea[name=file_content_0]") == XSS
    assert not tab.problems


def test_logging_out_ends_the_session(tab, second_tab, make_user):
    user = make_user("manager")
    tab.log_in(user.username, user.password)
    cookies = tab.page.context.cookies()
    tab.page.click("header form button")
    tab.page.wait_for_url(re.compile(r".*/login$"))
    second_tab.page.context.add_cookies(cookies)  # the old cookie opens nothing
    second_tab.go("/orders")
    assert second_tab.page.url.startswith(second_tab.base + "/login")


def test_a_user_changes_their_own_password(tab, make_user, scheduler):
    user = make_user("manager")
    tab.log_in(user.username, user.password)
    tab.go("/password")
    tab.fill({"input[name=current_password]": user.password, "input[name=password]": "a new battery staple",
              "input[name=password_again]": "a new battery staple"})
    tab.page.click("form.card button[type=submit]")
    tab.page.wait_for_url(re.compile(r".*/login\?changed=1$"))
    tab.log_in(user.username, "a new battery staple")
    assert ApiClient(scheduler.url).post("/auth/authorize", {"username": user.username,
                                                             "password": user.password}).status == 401


def slot_worker(user, host, number, **slot):
    """A writer slot's document as the monitor files it from the slot's heartbeats."""
    return {"_id": f"{user}@{host}.slot-{number}", "username": user, "host": host, "role": "writer",
            "online": True, "slot": {"number": number, "message": None, "card": None, "task": None, "order": None,
                                     "step": None, "percent": None, "rate": None, **slot}}


def test_the_fleet_follows_a_writers_slots_without_reloading(tab, scheduler, db):
    worker = slot_worker("writer-live", "host2", 1, state="busy", step="writing", percent=42, rate=38000000,
                         card={"size": 16000000000, "serial": "0x1234"})
    db.workers.replace_one({"_id": worker["_id"]}, worker, upsert=True)
    try:
        tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
        tab.go("/fleet")
        slot = tab.page.locator("[data-writer='writer-live@host2'] li[data-slot='1']")
        playwright_api.expect(slot.locator(".slot-state")).to_have_text("writing")
        playwright_api.expect(slot).to_contain_text("Done 42 % Speed 38.0 MB/s")
        playwright_api.expect(slot).to_contain_text("16.0 GB, serial 0x1234")
        tab.page.evaluate("window.notReloaded = true")
        db.workers.update_one({"_id": worker["_id"]}, {"$set": {
            "slot.step": "verifying", "slot.percent": 77, "slot.rate": 90000000}})
        playwright_api.expect(slot.locator(".slot-state")).to_have_text("verifying", timeout=WAIT_MS)
        playwright_api.expect(slot).to_contain_text("Done 77 % Speed 90.0 MB/s", timeout=WAIT_MS)
        assert tab.page.evaluate("window.notReloaded") is True and not tab.problems
    finally:
        db.workers.delete_one({"_id": worker["_id"]})


def test_the_fleet_pages_its_hosts_and_the_dashboard_says_how_many_there_are(tab, scheduler, db):
    hosts = [slot_worker("writer-paged", f"host{number:02}", 1, state="empty") for number in range(55)]
    db.workers.insert_many(hosts)
    try:
        tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
        tab.go("/fleet")
        pages = tab.page.locator("#fleet-pages")
        playwright_api.expect(pages).to_contain_text("Page 1 of ")
        first = set(tab.page.locator("[data-writer]").evaluate_all("nodes => nodes.map(n => n.dataset.writer)"))
        assert len(first) <= 50
        tab.page.click("#fleet-pages a[rel=next]")
        tab.page.wait_for_url(re.compile(r".*/fleet\?page=2$"))
        playwright_api.expect(pages).to_contain_text("Page 2 of ")
        second = set(tab.page.locator("[data-writer]").evaluate_all("nodes => nodes.map(n => n.dataset.writer)"))
        assert second and not first & second, "each host on one page"
        tab.go("/")
        playwright_api.expect(tab.page.locator("#fleet-pages")).to_contain_text("Hosts 1–50 of ")
        assert not tab.problems
    finally:
        db.workers.delete_many({"_id": {"$in": [host["_id"] for host in hosts]}})


def written_order(admin, db, cards=1):
    """An order whose image is made and `cards` of its 2 cards written, as the monitor files them."""
    order_id = admin.post("/orders", order_body()).body["_id"]
    for event in ("create_started", "create_done_physical", "write_started"):
        transition(db.orders, order_id, ORDER, event, "monitor")
    db.orders.update_one({"_id": order_id}, {"$set": {"image": {
        "image_size": 1073741824, "mapped_size": 517400000, "compressed_size": 120100000, "sha256": "a" * 64}}})
    for number in range(cards):
        add_written_card(db, order_id, number)
    return order_id


def add_written_card(db, order_id, number):
    orders.add_card(db, order_id, {"task": f"task-{number}", "host": "rack-3", "slot": number + 1,
                                   "serial": f"0x{number:04x}", "size": 15931539456,
                                   "at": datetime.datetime(2026, 3, 1, 12, 30, number, tzinfo=datetime.timezone.utc)})


def writer_shot(order_id, task_id):
    """A writer host's slots in each state, as the monitor files them from the slots' heartbeats."""
    return [slot_worker("writer-shot", "host1", 1, state="busy", step="writing", percent=42, rate=38000000,
                        card={"size": 16000000000, "serial": None}, order=order_id, task=task_id),
            slot_worker("writer-shot", "host1", 2, state="refused",
                        message="card refused: card too small for order 6b1745b38349124fb69f5c7b: needs ≥ 4 GB "
                                "(card of 2.0 GB); /dev/disk/by-path/pci-0000:00:14.0-usb-0:2:1.0-scsi-0:0:0:0"),
            slot_worker("writer-shot", "host1", 3, state="empty"),
            slot_worker("writer-shot", "host1", 4, state="done", message=f"order {order_id} written and verified; "
                        "remove the card", card={"size": 16000000000, "serial": "0xbeef"}, order=order_id),
            slot_worker("writer-shot", "host1", 5, state="no_reader")]


def test_every_main_page_renders_without_console_errors(tab, second_tab, scheduler, admin, db, warehouse,
                                                        screenshots):
    placed = admin.post("/orders", order_body())
    assert placed.status == 201, placed
    written = written_order(admin, db)
    task = db.tasks.find_one({"order": written})
    shot = writer_shot(written, task["_id"])
    for doc in shot:
        db.workers.replace_one({"_id": doc["_id"]}, doc, upsert=True)
    tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
    pages = {"dashboard": "/", "orders": "/orders", "order": f"/orders/{placed.body['_id']}",
             "order-written": f"/orders/{written}", "new-order": "/orders/new", "recipes": "/recipes",
             "new-recipe": "/recipes/new", "fleet": "/fleet", "users": "/users", "schedules": "/schedules",
             "new-schedule": "/schedules/new", "password": "/password"}
    for name, path in pages.items():
        reply = tab.go(path)
        assert reply.status == 200, (path, reply.status)
        tab.page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
        assert not tab.problems, (path, tab.problems)
    tab.go("/fleet")
    slot = tab.page.locator("[data-writer='writer-shot@host1'] li[data-slot='1']")
    playwright_api.expect(slot).to_contain_text("Done 42 % Speed 38.0 MB/s")
    second_tab.go("/login")
    second_tab.page.screenshot(path=str(screenshots / "login.png"))
    assert not second_tab.problems
    db.workers.delete_many({"_id": {"$in": [doc["_id"] for doc in shot]}})


ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d")
ZONED_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


def test_a_slot_tile_says_in_words_what_the_slot_does_and_what_the_operator_must_do(tab, scheduler, admin, db,
                                                                                   warehouse):
    order_id = written_order(admin, db, cards=0)
    task = db.tasks.find_one({"order": order_id})
    # The slot's task, held by the host's writer, with the time left its progress reports.
    db.tasks.update_one({"_id": task["_id"]}, {"$set": {"worker": "writer-shot", "status": "writing", "progress": {
        "step": "writing", "percent": 42, "bytes": 217e6, "total": 517.4e6, "rate": 38e6, "eta": 185}}})
    shot = writer_shot(order_id, task["_id"])
    offline = {**slot_worker("writer-shot", "host1", 6, state="empty"), "online": False,
               "last_seen": datetime.datetime(2026, 3, 1, 8, 0, tzinfo=datetime.timezone.utc)}
    for doc in [*shot, offline]:
        db.workers.replace_one({"_id": doc["_id"]}, doc, upsert=True)
    try:
        tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
        tab.go("/fleet")
        host = tab.page.locator("[data-writer='writer-shot@host1']")
        tile = {number: host.locator(f"li[data-slot='{number}']") for number in range(1, 7)}
        expect = playwright_api.expect
        expect(tile[1].locator(".slot-state")).to_have_text("writing")
        expect(tile[1]).to_contain_text(f"Order {order_id[-8:]}")
        expect(tile[1]).to_contain_text("Done 42 % Speed 38.0 MB/s Time left 3 min 5 s")
        assert tile[1].locator(f"a[href='/orders/{order_id}']").count() == 1
        expect(tile[2].locator(".slot-action")).to_have_text("→ remove the card")
        expect(tile[2].locator(".slot-message")).to_contain_text("card too small")
        expect(tile[3].locator(".slot-action")).to_have_text("→ insert a card")
        expect(tile[4].locator(".slot-state")).to_have_text("done")
        expect(tile[4].locator(".slot-action")).to_have_text("→ remove the card")
        expect(tile[5].locator(".slot-action")).to_have_text("→ plug the card reader in")
        expect(tile[6].locator(".slot-state")).to_have_text("offline (empty)")
        expect(tile[6]).to_contain_text("Last seen 2026-03-01 08:00:00 UTC")
        text = host.locator("ol.slots").text_content()
        for raw in ("True", "False", "None", "online", "worker", "number", "rate", "percent"):
            assert raw not in text, raw
        assert not ISO_TIME.search(text)
        # Nothing overflows its tile: the long message and path wrap inside it.
        for number in tile:
            assert tile[number].evaluate("node => node.scrollWidth <= node.clientWidth"), number
        tab.go("/")  # the dashboard shows the same tiles
        expect(tab.page.locator("[data-writer='writer-shot@host1'] li[data-slot='2'] .slot-action")).to_have_text(
            "→ remove the card")
        assert not tab.problems
    finally:
        db.workers.delete_many({"_id": {"$in": [doc["_id"] for doc in [*shot, offline]]}})


def test_an_order_whose_cards_are_written_offers_ship_without_a_reload(tab, make_user, warehouse, scheduler, db,
                                                                      screenshots):
    user = make_user("manager")
    api = ApiClient(scheduler.url, user.access)
    order_id = api.post("/orders", order_body()).body["_id"]
    for event in ("create_started", "create_done_physical", "write_started"):
        transition(db.orders, order_id, ORDER, event, "monitor")
    tab.log_in(user.username, user.password)
    tab.go(f"/orders/{order_id}")
    page, expect = tab.page, playwright_api.expect
    expect(page.locator("#ship-form")).to_be_hidden()
    expect(page.locator("#cancel-form")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    transition(db.orders, order_id, ORDER, "writes_done", "monitor")
    expect(page.locator("#order-status")).to_have_text("to ship", timeout=WAIT_MS)
    expect(page.locator("#ship-form")).to_be_visible(timeout=WAIT_MS)
    assert "reload" not in page.text_content("#order-live") + page.text_content("#actions")
    page.screenshot(path=str(screenshots / "order-to-ship.png"), full_page=True)
    tab.fill({"#ship-form input[name=carrier]": "La Poste", "#ship-form input[name=tracking_number]": "LP9"})
    assert page.evaluate("window.notReloaded") is True
    page.click("#ship-form button[type=submit]")
    expect(page.locator("#order-status")).to_have_attribute("data-status", "shipped")
    expect(page.locator("#ship-form")).to_be_hidden()
    expect(page.locator("#cancel-form")).to_be_hidden()
    assert api.get(f"/orders/{order_id}").body["shipment"]["tracking_number"] == "LP9"
    assert not tab.problems


def test_the_order_page_lists_its_written_cards_and_its_image_with_times_in_their_zone(tab, scheduler, admin, db,
                                                                                      warehouse):
    order_id = written_order(admin, db, cards=1)
    file_lines(db, db.tasks.find_one({"order": order_id})["_id"], 2)
    tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
    tab.go(f"/orders/{order_id}")
    page, expect = tab.page, playwright_api.expect
    assert page.text_content("#order-image") == ("1.1 GB image (output.size 1G), 517.4 MB of data written and "
                                                 "verified on each card, 120.1 MB to download")
    rows = page.locator("#cards tbody tr")
    expect(rows).to_have_count(1)
    assert [cell.strip() for cell in rows.first.locator("td").all_text_contents()] == [
        "rack-3", "1", "0x0000", "15.9 GB", "2026-03-01 12:30:00 UTC"]
    assert page.text_content("#cards-count") == "1 of 2"
    page.evaluate("window.notReloaded = true")
    add_written_card(db, order_id, 1)  # the second card, while the page is open
    expect(rows).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator("#cards-count")).to_have_text("2 of 2")
    assert page.evaluate("window.notReloaded") is True
    for step in page.locator("#timeline li").all_text_contents():
        assert ZONED_TIME.search(step), step
    for line in page.locator("#log-lines li .muted").all_text_contents():
        assert re.fullmatch(r"\d\d:\d\d:\d\d UTC", line), line
    assert "UTC" in page.text_content("#order-live dl")
    tab.go("/orders")
    assert ZONED_TIME.fullmatch(page.locator("#orders tbody tr").first.locator("td").nth(5).text_content())
    assert not tab.problems


def test_the_short_id_an_order_is_shown_by_finds_it(tab, scheduler, admin, warehouse):
    order_id = admin.post("/orders", order_body()).body["_id"]
    tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
    tab.go(f"/orders/{order_id}")
    shown = tab.page.text_content("h1 > code")
    tab.go("/orders")
    listed = tab.page.locator(f"#orders a[href='/orders/{order_id}']").text_content()
    assert shown == listed
    tab.page.fill("input[name=q]", shown)
    tab.page.click(".filters button[type=submit]")
    playwright_api.expect(tab.page.locator("#order-count")).to_have_text("1 order")
    assert tab.page.locator("#orders tbody a").get_attribute("href") == f"/orders/{order_id}"
    assert not tab.problems


def test_statuses_read_in_workflow_order_with_their_labels(tab, scheduler):
    tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
    tiles = tab.page.locator("#status-counts li")
    assert tiles.evaluate_all("nodes => nodes.map(n => n.dataset.status)") == list(WORKFLOW)
    assert [text.strip() for text in tab.page.locator("#status-counts .status").all_text_contents()] == [
        LABELS[status] for status in WORKFLOW]
    tab.go("/orders")
    boxes = tab.page.locator(".filters input[name=status]")
    assert boxes.evaluate_all("nodes => nodes.map(n => n.value)") == list(WORKFLOW)
    assert "waiting for a writer" in tab.page.text_content(".filters fieldset")
    assert not tab.problems


def scheduler_and_manager(base, scheduler):
    """Start `scheduler` and a manager on it; yields both, then stops them."""
    scheduler.start()
    manager = Manager(base, scheduler.url)
    try:
        manager.start()
        yield scheduler, manager
    finally:
        manager.stop()
        scheduler.stop()


@pytest.fixture(scope="module")
def empty_stack(stack_dir, ferretdb):
    """A scheduler on a database of its own, with nothing in it, and a manager on it."""
    name = "manager_empty"
    with pymongo.MongoClient(ferretdb.url) as client:
        client.drop_database(name)
    base = os.path.join(stack_dir, "empty")
    yield from scheduler_and_manager(base, Scheduler(base, ferretdb.url, db_name=name))


def test_empty_pages_say_what_to_do_first(browser, empty_stack, screenshots):
    scheduler, manager = empty_stack
    context = browser.new_context()
    tab = Tab(context, manager.url)
    tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
    expect = playwright_api.expect
    tab.go("/recipes")
    expect(tab.page.locator("#no-recipes")).to_have_text(re.compile("^No recipes yet — create one"))
    assert tab.page.locator("#no-recipes a").get_attribute("href") == "/recipes/new"
    tab.go("/orders")
    expect(tab.page.locator("#no-orders")).to_have_text("No orders yet — place one.")
    tab.go("/orders?status=shipped")
    expect(tab.page.locator("#no-orders")).to_contain_text("No order matches")
    tab.go("/schedules")
    expect(tab.page.locator("#no-schedules")).to_contain_text("No schedules yet — add one")
    tab.go("/fleet")
    expect(tab.page.locator("#no-creators")).to_contain_text("No creator has reported yet")
    expect(tab.page.locator("#no-writers")).to_contain_text("No writer host has reported yet")
    expect(tab.page.locator("#no-warehouses")).to_contain_text("No warehouse yet")
    assert tab.page.locator("#creators").count() == tab.page.locator("#warehouses").count() == 0, "no empty tables"
    for name, path in {"empty-dashboard": "/", "empty-recipes": "/recipes", "empty-orders": "/orders",
                       "empty-fleet": "/fleet"}.items():
        tab.go(path)
        tab.page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    assert not tab.problems
    context.close()


@pytest.fixture(scope="module")
def short_tokens(stack_dir, ferretdb):
    """A scheduler whose access tokens live 2 s, and a manager on it."""
    base = os.path.join(stack_dir, "short-tokens")
    yield from scheduler_and_manager(base, Scheduler(base, ferretdb.url, db_name="manager_short",
                                                     overrides={"auth": {**TEST_AUTH, "access_ttl": 2}}))


def test_an_expired_access_token_is_refreshed_without_the_user_noticing(browser, short_tokens):
    scheduler, manager = short_tokens
    context = browser.new_context()
    tab = Tab(context, manager.url)
    tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
    witness = ApiClient(scheduler.url)
    witness.token = witness.post("/auth/authorize", scheduler.admin).body["access_token"]  # issued after the manager's
    wait_until(lambda: witness.get("/orders").status == 401, timeout=20, interval=0.2)
    for path in ("/orders", "/"):
        reply = tab.go(path)
        assert reply.status == 200 and tab.page.url == manager.url + path
    context.close()


def test_a_disabled_user_is_logged_out_of_the_manager(tab, make_user, admin):
    user = make_user("manager")
    tab.log_in(user.username, user.password)
    assert admin.patch(f"/users/{user.username}", {"active": False}).status == 200
    reply = tab.go("/orders")
    assert reply.status == 401 and "log in again" in tab.page.text_content("#error-text")
    tab.go("/orders")
    assert tab.page.url.startswith(tab.base + "/login")


def test_an_operator_retries_an_order_whose_image_could_not_be_made(tab, make_user, warehouse, scheduler, db):
    user = make_user("manager")
    api = ApiClient(scheduler.url, user.access)
    placed = api.post("/orders", order_body())
    assert placed.status == 201, placed
    order_id = placed.body["_id"]
    task = db.tasks.find_one({"order": order_id})
    # What the monitor writes when a creator reports a failure.
    transition(db.tasks, task["_id"], task_machine("create"), "failed", "creator-x", note="content server away")
    transition(db.orders, order_id, ORDER, "create_failed", "monitor", note="content server away")
    tab.log_in(user.username, user.password)
    tab.go(f"/orders/{order_id}")
    tab.page.fill("#retry-form input[name=reason]", "the content server is back")
    tab.page.click("#retry-order")
    playwright_api.expect(tab.page.locator("#order-status")).to_have_attribute("data-status", "created")
    after = api.get(f"/orders/{order_id}").body
    assert sorted(task["attempt"] for task in after["tasks"]) == [1, 2]
    assert after["statuses"][-1]["note"] == "the content server is back"
    playwright_api.expect(tab.page.locator("#retry-form")).to_be_hidden()
    assert not tab.problems


def test_the_live_estimate_counts_the_size_given_with_a_url_file(tab, make_user, scheduler):
    user = make_user("manager")
    tab.log_in(user.username, user.password)
    tab.go("/recipes/new")
    page, expect = tab.page, playwright_api.expect
    tab.fill({"input[name=name]": unique("Wiki "), "input[name=file_to_0]": "/data/a.txt"})
    page.fill("textarea[name=file_content_0]", "hello")
    expect(page.locator("#estimate-bytes")).to_have_text("5")
    expect(page.locator("#suggestion")).to_have_text("4 GB")
    tab.fill({"input[name=file_to_1]": "/data/wiki.zim", "input[name=file_url_1]": "https://example.org/wiki.zim"})
    expect(page.locator("#estimate-unknown")).to_have_text(", plus 1 URL file(s) of unknown size")
    page.fill("input[name=file_size_1]", "4.2G")
    expect(page.locator("#estimate-bytes")).to_have_text("4509715665")  # live, before any submit
    expect(page.locator("#file-size-1")).to_have_text("4509715660 bytes (4.51 GB)")
    expect(page.locator("#suggestion")).to_have_text("8 GB")
    expect(page.locator("#estimate-unknown")).to_have_text("")
    page.fill("input[name=file_size_1]", "a lot")
    expect(page.locator("#error-file_1")).to_contain_text("recipe.files[1].size: expected bytes")
    page.fill("input[name=file_size_1]", "4509715660")
    expect(page.locator("#error-file_1")).to_have_text("")
    page.click("#save-recipe")
    page.wait_for_url(re.compile(r".*/recipes\?done=.*"))
    recipe_id = page.url.rsplit("=", 1)[1]
    kept = ApiClient(scheduler.url, user.access).get(f"/recipes/{recipe_id}").body
    assert kept["recipe"]["files"][1] == {"to": "/data/wiki.zim", "url": "https://example.org/wiki.zim",
                                          "size": 4509715660}
    tab.go(f"/orders/new?recipe={recipe_id}")
    assert page.input_value("input[name=file_size_1]") == "4509715660"
    assert page.text_content("#suggestion") == "8 GB" and page.text_content("#estimate-bytes") == "4509715665"
    assert not tab.problems


def test_an_operator_chooses_their_notifications_on_their_profile_page(tab, make_user, admin):
    user = make_user("manager")
    tab.log_in(user.username, user.password)
    tab.go("/password")
    tab.page.check("#notify-form input[value=order_failed]")
    tab.page.check("#notify-form input[value=slot_refused]")
    tab.page.click("#notify-form button[type=submit]")
    tab.page.wait_for_url(re.compile(r".*/password\?notify=saved$"))
    assert "Your notifications are saved." in tab.page.content()
    assert tab.page.is_checked("#notify-form input[value=order_failed]")
    assert not tab.page.is_checked("#notify-form input[value=order_written]")
    assert admin.get(f"/users/{user.username}").body["notify"] == ["order_failed", "slot_refused"]



def test_an_admin_chooses_the_notifications_of_another_operator(tab, make_user, admin, scheduler):
    user = make_user("manager")
    tab.log_in(scheduler.admin["username"], scheduler.admin["password"])
    page = next(number for number in itertools.count(1) if user.username in  # the page listing the user
                [item["username"] for item in admin.get(f"/users?per_page=100&page={number}").body["items"]])
    tab.go(f"/users?page={page}")
    row = tab.page.locator(f"tr[data-user='{user.username}']")
    row.locator("input[value=host_offline]").check()
    row.locator("form.notify button[type=submit]").click()
    tab.page.wait_for_url(re.compile(r".*/users\?done=notify\+.*"))
    assert admin.get(f"/users/{user.username}").body["notify"] == ["host_offline"]
