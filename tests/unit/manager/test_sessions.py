"""Session cookies and CSRF tokens are signed; a forged, unknown or idle one opens nothing."""

from cardshop.client import ApiClient, Login
from cardshop.manager.sessions import Session, Sessions


def sessions(idle=60):
    return Sessions("k" * 40, "http://127.0.0.1:9", idle)


def _add(store, session_id="abc"):
    session = Session(session_id, Login(ApiClient("http://127.0.0.1:9")), "ada", "manager", "t")
    store._sessions[session_id] = session
    return session


def test_a_signed_cookie_finds_its_session():
    store = sessions()
    session = _add(store)
    assert store.from_cookie(store.cookie_value(session)) is session


def test_a_forged_or_foreign_cookie_finds_nothing():
    store = sessions()
    session = _add(store)
    assert store.from_cookie("abc.0000") is None
    assert store.from_cookie("abc") is None
    assert store.from_cookie(None) is None
    other = Sessions("o" * 40, "http://127.0.0.1:9", 60)
    assert store.from_cookie(other.cookie_value(session)) is None


def test_an_idle_session_ends():
    store = sessions(idle=0)
    session = _add(store)
    session.last_used -= 1
    assert store.from_cookie(store.cookie_value(session)) is None
    assert "abc" not in store._sessions


def test_the_login_csrf_token_comes_only_from_a_signed_nonce():
    store = sessions()
    nonce = store.login_nonce()
    assert store.login_csrf(nonce) and store.login_csrf(nonce) == store.login_csrf(nonce)
    assert store.login_csrf(nonce.split(".")[0] + ".forged") is None
    assert store.login_csrf("") is None
