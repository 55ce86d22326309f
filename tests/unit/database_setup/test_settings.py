"""What cardshop-database-setup writes: the cluster snippet, pg_hba.conf, URIs and SCRAM verifiers."""

import base64
import hashlib
import hmac

from cardshop.database_setup import settings

DEBIAN_HBA = """\
# PostgreSQL Client Authentication Configuration File
#
# (Debian's header)

# DO NOT DISABLE!
local   all             postgres                                peer

# TYPE  DATABASE        USER            ADDRESS                 METHOD
local   all             all                                     peer
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
"""


def test_the_snippet_preloads_documentdb_and_pg_cron_listens_on_loopback_and_hashes_with_scram():
    lines = settings.conf_snippet().splitlines()
    assert "shared_preload_libraries = 'pg_cron,pg_documentdb_core,pg_documentdb'" in lines
    assert "cron.database_name = 'postgres'" in lines
    assert "listen_addresses = 'localhost'" in lines
    assert "password_encryption = 'scram-sha-256'" in lines


def test_pg_hba_gets_the_gateway_rule_first_and_keeps_the_rest():
    text, changes = settings.hba_rewrite(DEBIAN_HBA)
    rules = [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert rules[1] == ["host", "postgres", "ferretdb", "127.0.0.1/32", "scram-sha-256"]
    debian = [line.split() for line in DEBIAN_HBA.splitlines() if line.strip() and not line.startswith("#")]
    assert rules[-len(debian):] == debian
    assert text.index("# DO NOT DISABLE!") > text.index(settings.BLOCK_END)  # the comment stays with its rule
    assert changes == ["pg_hba.conf: cardshop-database-setup's rules first"]


def test_the_daemons_roles_may_not_connect_to_postgresql():
    rules = [line.split() for line in settings.hba_block() if not line.startswith("#")]
    for daemon in settings.DAEMON_GROUPS:
        role = settings.role_of(daemon)
        assert ["local", "all", role, "reject"] in rules
        assert ["host", "all", role, "all", "reject"] in rules


def test_a_second_rewrite_of_pg_hba_changes_nothing():
    once, _ = settings.hba_rewrite(DEBIAN_HBA)
    assert settings.hba_rewrite(once) == (once, [])


def test_no_rule_trusts_or_takes_a_clear_password_after_the_rewrite():
    weak = DEBIAN_HBA + "host all all 10.0.0.0/8 trust\nlocal replication all trust\nhost all all ::1/128 md5\n"
    text, changes = settings.hba_rewrite(weak)
    methods = [line.split("#")[0].split()[-1] for line in text.splitlines() if line.split("#")[0].strip()]
    assert not set(methods) & settings.WEAK_METHODS
    assert "local replication all peer" in text.splitlines()
    assert "host all all 10.0.0.0/8 scram-sha-256" in text.splitlines()
    assert len(changes) == 3


def test_a_daemons_uri_names_its_role_ferretdb_on_loopback_and_scram():
    uri = settings.mongodb_uri("cardshop_monitor", "Abc123")
    assert uri == "mongodb://cardshop_monitor:Abc123@127.0.0.1:27017/?authMechanism=SCRAM-SHA-256"
    assert settings.password_in(uri) == "Abc123"


def test_ferretdbs_url_names_the_gateway_role_and_the_postgres_database():
    url = settings.postgresql_url("ferretdb", "s3cret", 5433)
    assert url == "postgres://ferretdb:s3cret@127.0.0.1:5433/postgres"
    assert settings.password_in(url + "\n") == "s3cret"


def test_characters_that_mean_something_in_a_uri_are_quoted_and_read_back():
    uri = settings.mongodb_uri("cardshop_beat", "a@b:c/d%")
    assert "a%40b%3Ac%2Fd%25@" in uri
    assert settings.password_in(uri) == "a@b:c/d%"


def test_generated_passwords_are_long_unquoted_and_different():
    first, second = settings.new_password(), settings.new_password()
    assert len(first) == settings.PASSWORD_LENGTH and first.isalnum() and first != second


def test_the_scram_verifier_matches_rfc_7677s_exchange():
    # RFC 7677, section 3: user "user", password "pencil"; the client's proof and the
    # server's signature there must follow from the verifier's StoredKey and ServerKey.
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    verifier = settings.scram_verifier("pencil", salt, 4096)
    _, salt_and_count, keys = verifier.split("$")
    stored, server = (base64.b64decode(key) for key in keys.split(":"))
    nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    auth_message = (f"n=user,r=rOprNGfwEbeRWgbNEkqO,r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
                    f"c=biws,r={nonce}").encode()
    signature = hmac.new(server, auth_message, hashlib.sha256).digest()
    assert base64.b64encode(signature).decode() == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    client_key = bytes(a ^ b for a, b in zip(proof, hmac.new(stored, auth_message, hashlib.sha256).digest()))
    assert hashlib.sha256(client_key).digest() == stored
    assert salt_and_count == "4096:W22ZaJ0SNY7soEsUEjb6gQ=="


def test_a_verifier_matches_its_password_only():
    verifier = settings.scram_verifier("right")
    assert settings.scram_matches(verifier, "right")
    assert not settings.scram_matches(verifier, "wrong")
    assert not settings.scram_matches("md5abc", "right") and not settings.scram_matches("", "right")


def test_every_role_name_is_a_plain_identifier():
    names = [settings.GATEWAY_ROLE] + [settings.role_of(daemon) for daemon in settings.DAEMON_GROUPS]
    assert all(settings.ROLE_NAME.match(name) for name in names)


def test_the_servers_own_connections_back_use_the_socket_where_peer_lets_them_in():
    snippet = settings.conf_snippet().splitlines()
    assert "cron.host = '/var/run/postgresql'" in snippet
    assert "documentdb.localhost_connection_string = 'host=/var/run/postgresql'" in snippet
    rules = [line.split() for line in settings.hba_block() if not line.startswith("#")]
    assert rules[0] == ["local", "postgres", "ferretdb", "peer", "map=cardshop_documentdb"]
    assert "cardshop_documentdb postgres ferretdb" in [" ".join(line.split()) for line in settings.ident_block()]


def test_pg_ident_gets_the_map_once_at_its_end():
    debian = "# PostgreSQL User Name Maps\n# MAPNAME SYSTEM-USERNAME PG-USERNAME\n"
    once = settings.ident_rewrite(debian)
    assert once.startswith(debian) and once.endswith(settings.BLOCK_END + "\n")
    assert settings.ident_rewrite(once) == once
