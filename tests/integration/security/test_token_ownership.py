"""Tokens belong to one account; the system user's password is not the API's to change."""

from cardshop.client import ApiClient


def test_tokens_of_a_deleted_user_do_not_work_for_a_new_account_of_that_name(scheduler, admin, make_user):
    old = make_user("manager")
    assert admin.delete(f"/users/{old.username}").status == 204
    reply = admin.post("/users", {"username": old.username, "email": f"{old.username}@example.org",
                                  "password": "another good password", "role": "admin"})
    assert reply.status == 201, reply
    assert ApiClient(scheduler.url, old.access).get("/users").status == 401
    assert ApiClient(scheduler.url).post("/auth/token", {"refresh_token": old.refresh}).status == 401


def test_the_system_users_password_cannot_be_changed_through_the_api(strict_scheduler, strict_admin):
    username = strict_scheduler.system["username"]
    reply = strict_admin.post(f"/users/{username}/password", {"password": "a new password here"})
    assert reply.status == 409 and "system user" in reply.error, reply
