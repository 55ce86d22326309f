"""Password checks: right and wrong, unknown users, and credentials remembered only while still true."""

from cardshop.auth.passwords import Hasher
from cardshop.auth.verified import VerifiedLogins


def test_a_check_tells_right_from_wrong_and_unknown_users():
    hasher = Hasher(4)
    hashed = hasher.hash("correct horse")
    assert hasher.verify("correct horse", hashed) and not hasher.verify("wrong horse", hashed)
    assert not hasher.verify("anything", None)


def test_verified_credentials_count_only_against_the_hash_they_were_verified_with():
    hasher, verified = Hasher(4), VerifiedLogins(60)
    old, new = hasher.hash("correct horse"), hasher.hash("battery staple")
    verified.remember("alice", "correct horse", old)
    assert verified.known("alice", "correct horse", old)
    assert not verified.known("alice", "correct horse", new)  # the password was changed meanwhile
    assert not verified.known("alice", "wrong horse", old) and not verified.known("bob", "correct horse", old)


def test_verified_credentials_expire_and_can_be_turned_off():
    hashed = Hasher(4).hash("correct horse")
    expired, off = VerifiedLogins(1e-9), VerifiedLogins(0)
    for verified in (expired, off):
        verified.remember("alice", "correct horse", hashed)
        assert not verified.known("alice", "correct horse", hashed)
    assert not off._entries
