"""The warehouse's FTP authorizer: who may read, write and delete where, with the scheduler's word
(a real scheduler answers /auth/validate)."""

import os

import pytest
from pyftpdlib.authorizers import AuthenticationFailed

from cardshop.client import ApiClient
from cardshop.store import new_id
from cardshop.warehouse.identity import Identities
from cardshop.warehouse.server import SchedulerAuthorizer


@pytest.fixture
def root(tmp_path):
    return str(tmp_path)


@pytest.fixture
def authorizer(scheduler, root):
    return SchedulerAuthorizer(Identities(scheduler.url, cache_seconds=0), root)


def holding(db, user):
    """A live create task the user holds; its folder's path."""
    task_id = new_id()
    db.tasks.insert_one({"_id": task_id, "kind": "create", "status": "building", "worker": user.username})
    return task_id


def logged_in(authorizer, user):
    authorizer.validate_authentication(user.username, user.access, None)
    return user.username


def test_a_creator_writes_only_into_the_folders_of_its_tasks(authorizer, root, db, make_user):
    user = make_user("creator")
    task_id = holding(db, user)
    name = logged_in(authorizer, user)
    assert authorizer.has_perm(name, "w", os.path.join(root, task_id, "image.img.zst"))
    assert authorizer.has_perm(name, "m", os.path.join(root, task_id))
    assert not authorizer.has_perm(name, "w", os.path.join(root, new_id(), "image.img.zst")), "another's task"
    assert not authorizer.has_perm(name, "w", os.path.join(root, "loose.txt")), "not in a task folder"
    assert authorizer.has_perm(name, "r", os.path.join(root, new_id(), "image.img.zst")), "reads anywhere"


def test_nobody_leaves_the_root(authorizer, root, make_user):
    name = logged_in(authorizer, make_user("admin"))
    assert not authorizer.has_perm(name, "r", os.path.join(root, "..", "elsewhere"))
    assert not authorizer.has_perm(name, "r", "/etc/passwd")


def test_a_task_claimed_after_login_is_writable_at_once(authorizer, root, db, make_user):
    user = make_user("creator")
    name = logged_in(authorizer, user)
    task_id = holding(db, user)
    assert authorizer.has_perm(name, "w", os.path.join(root, task_id, "image.img.zst"))


def test_a_creator_loses_write_rights_when_its_task_ends(authorizer, root, db, make_user):
    user = make_user("creator")
    task_id = holding(db, user)
    name = logged_in(authorizer, user)
    db.tasks.update_one({"_id": task_id}, {"$set": {"status": "canceled"}})
    assert not authorizer.has_perm(name, "w", os.path.join(root, task_id, "image.img.zst"))


def test_a_disabled_user_loses_write_rights_on_an_open_session(authorizer, root, db, admin, make_user):
    user = make_user("creator")
    task_id = holding(db, user)
    name = logged_in(authorizer, user)
    assert admin.patch(f"/users/{user.username}", {"active": False}).status == 200
    assert not authorizer.has_perm(name, "w", os.path.join(root, task_id, "image.img.zst"))


@pytest.mark.parametrize("role", ["writer", "admin"])
def test_writers_and_admins_only_read(authorizer, root, role, make_user):
    name = logged_in(authorizer, make_user(role))
    folder = os.path.join(root, new_id())
    assert authorizer.has_perm(name, "r", folder)
    assert not authorizer.has_perm(name, "w", os.path.join(folder, "x"))
    assert not authorizer.has_perm(name, "d", folder)
    assert authorizer.get_perms(name) == "elr"


def test_the_system_user_deletes_task_folders_and_nothing_else(authorizer, root, scheduler):
    token = ApiClient(scheduler.url).post("/auth/authorize", {
        "username": scheduler.system["username"], "password": scheduler.system["password"]}).body["access_token"]
    authorizer.validate_authentication(scheduler.system["username"], token, None)
    name = scheduler.system["username"]
    assert authorizer.has_perm(name, "d", os.path.join(root, new_id()))
    assert not authorizer.has_perm(name, "d", os.path.join(root, "loose.txt"))
    assert not authorizer.has_perm(name, "w", os.path.join(root, new_id(), "x"))


def test_a_manager_has_no_use_for_the_warehouse(authorizer, make_user):
    user = make_user("manager")
    with pytest.raises(AuthenticationFailed, match="role manager has no use for the warehouse"):
        authorizer.validate_authentication(user.username, user.access, None)


def test_a_token_of_another_user_or_no_token_logs_nobody_in(authorizer, make_user):
    one, other = make_user("creator"), make_user("creator")
    with pytest.raises(AuthenticationFailed, match="belongs to another user"):
        authorizer.validate_authentication(one.username, other.access, None)
    with pytest.raises(AuthenticationFailed, match="token refused"):
        authorizer.validate_authentication(one.username, "not a token", None)
    assert not authorizer.has_user(one.username)
    assert not authorizer.has_perm(one.username, "r")
