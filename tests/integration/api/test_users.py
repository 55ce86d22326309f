"""Managing users through the API."""

from tests.conftest import unique


def new_user_body(role="manager", **changes):
    username = unique("u")
    return {"username": username, "email": f"{username}@example.org", "password": "long enough pw",
            "role": role, **changes}


def test_an_admin_creates_reads_lists_and_deletes_a_user(admin):
    body = new_user_body("creator")
    created = admin.post("/users", body)
    assert created.status == 201
    assert created.body["username"] == body["username"] and created.body["active"] is True
    assert "password" not in created.body and "password_hash" not in created.body
    assert admin.get(f"/users/{body['username']}").body["role"] == "creator"
    listed = admin.get("/users?role=creator&per_page=200")
    assert body["username"] in [user["username"] for user in listed.body["items"]]
    assert all("password_hash" not in user for user in listed.body["items"])
    assert admin.delete(f"/users/{body['username']}").status == 204
    assert admin.get(f"/users/{body['username']}").status == 404


def test_duplicate_usernames_and_emails_get_409(admin):
    body = new_user_body()
    assert admin.post("/users", body).status == 201
    again = admin.post("/users", {**new_user_body(), "username": body["username"]})
    assert again.status == 409 and "taken" in again.body["error"]
    same_email = admin.post("/users", {**new_user_body(), "email": body["email"].upper()})
    assert same_email.status == 409 and "email" in same_email.body["error"]


def test_an_admin_changes_role_email_and_active(admin):
    body = new_user_body("writer")
    admin.post("/users", body)
    changed = admin.patch(f"/users/{body['username']}", {"role": "creator", "email": "NEW@example.org"})
    assert changed.status == 200
    assert changed.body["role"] == "creator" and changed.body["email"] == "new@example.org"
    assert admin.patch(f"/users/{body['username']}", {}).status == 400
    assert admin.patch(f"/users/{body['username']}", {"role": "system"}).status == 400


def test_the_last_active_admin_cannot_be_removed_demoted_or_disabled(admin, scheduler, db):
    name = scheduler.admin["username"]
    others = db.users.count_documents({"role": "admin", "active": True, "username": {"$ne": name}})
    if others == 0:
        for change in ({"active": False}, {"role": "manager"}):
            reply = admin.patch(f"/users/{name}", change)
            assert reply.status == 409 and "last active admin" in reply.body["error"]
        assert admin.delete(f"/users/{name}").status == 409


def test_an_admin_resets_a_password_without_the_old_one(admin, api):
    body = new_user_body()
    admin.post("/users", body)
    assert admin.post(f"/users/{body['username']}/password", {"password": "reset by admin"}).status == 200
    login = api.post("/auth/authorize", {"username": body["username"], "password": "reset by admin"})
    assert login.status == 200


def test_one_must_give_the_current_password_to_change_ones_own(api, make_user):
    user = make_user("writer")
    reply = api.post(f"/users/{user.username}/password", {"password": "another one"}, token=user.access)
    assert reply.status == 400 and "current_password" in reply.body["error"]


def test_short_passwords_are_refused(admin):
    reply = admin.post("/users", new_user_body(password="short"))
    assert reply.status == 400 and "password" in reply.body["error"]


def test_the_system_user_is_not_managed_through_the_api(admin, scheduler):
    name = scheduler.system["username"]
    assert admin.patch(f"/users/{name}", {"active": False}).status == 409
    assert admin.delete(f"/users/{name}").status == 409


def test_users_are_paginated(admin):
    for _ in range(3):
        admin.post("/users", new_user_body("writer"))
    first = admin.get("/users?per_page=2&page=1").body
    second = admin.get("/users?per_page=2&page=2").body
    assert len(first["items"]) == 2 and first["total"] >= 3
    assert not {u["username"] for u in first["items"]} & {u["username"] for u in second["items"]}


def test_an_operator_chooses_their_own_notifications_and_reads_them_back(api, make_user):
    user = make_user("manager")
    reply = api.put(f"/users/{user.username}/notify", {"notify": ["slot_refused", "order_written"]},
                    token=user.access)
    assert reply.status == 200, reply
    assert reply.body["notify"] == ["order_written", "slot_refused"]  # in the catalogue's order
    assert api.get(f"/users/{user.username}", token=user.access).body["notify"] == ["order_written", "slot_refused"]
    assert api.put(f"/users/{user.username}/notify", {"notify": []}, token=user.access).body["notify"] == []


def test_an_unknown_notification_kind_is_refused_by_name(api, make_user):
    user = make_user("manager")
    reply = api.put(f"/users/{user.username}/notify", {"notify": ["order_written", "coffee_ready"]},
                    token=user.access)
    assert reply.status == 400 and "'coffee_ready'" in reply.body["error"] and "order_written" in reply.body["error"]
    assert api.put(f"/users/{user.username}/notify", {"notify": "order_written"}, token=user.access).status == 400


def test_only_admins_set_the_notifications_of_others_and_machine_accounts_get_none(api, admin, make_user):
    manager, other = make_user("manager"), make_user("manager")
    assert api.put(f"/users/{other.username}/notify", {"notify": ["order_failed"]},
                   token=manager.access).status == 403
    assert admin.put(f"/users/{other.username}/notify", {"notify": ["order_failed"]}).body["notify"] == \
        ["order_failed"]
    writer = make_user("writer")
    refused = admin.put(f"/users/{writer.username}/notify", {"notify": ["order_failed"]})
    assert refused.status == 409 and "writer account" in refused.body["error"]
