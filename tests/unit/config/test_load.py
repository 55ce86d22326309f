"""Loading a daemon's config: defaults, unknown keys, bad values, secrets."""

import os
import subprocess
import sys

import pytest

from cardshop.config import ConfigError, load_config, read_secret
from cardshop.config.sample import render_sample
from cardshop.config.scheduler import SCHEMA
from cardshop.config.write_samples import SAMPLES

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def write(tmp_path, text):
    path = tmp_path / "scheduler.yaml"
    path.write_text(text)
    return str(path)


def test_an_empty_file_gives_every_default(tmp_path):
    config = load_config(SCHEMA, write(tmp_path, ""))
    assert config["api"]["port"] == 8080
    assert config["auth"]["access_ttl"] == 3600
    assert "bootstrap_admin" not in config


@pytest.mark.parametrize("text, message", [
    ("api: {prot: 80}", "unknown key 'api.prot'"),
    ("apii: {}", "unknown key 'apii'"),
    ("api: {port: 70000}", "key 'api.port'"),
    ("api: {port: eighty}", "key 'api.port': expected integer"),
    ("auth: {bcrypt_rounds: 3}", "key 'auth.bcrypt_rounds'"),
    ("bootstrap_admin: {username: admin}", "missing keys 'bootstrap_admin.email', 'bootstrap_admin.password_file'"),
    ("database: {uri: 'postgres://x'}", "key 'database.uri'"),
    ("- a list", "must hold a mapping"),
    ("api: [", "not valid YAML"),
])
def test_bad_configs_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(SCHEMA, write(tmp_path, text))


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(SCHEMA, str(tmp_path / "nope.yaml"))


def test_secrets_readable_by_everyone_are_refused(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cret")
    os.chmod(secret, 0o644)
    with pytest.raises(ConfigError, match="auth.jwt_key_file.*readable by everyone"):
        read_secret(str(secret), "auth.jwt_key_file")
    os.chmod(secret, 0o600)
    assert read_secret(str(secret), "auth.jwt_key_file") == "s3cret"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_shipped_samples_are_the_generated_ones_and_load(name):
    schema, title = SAMPLES[name]
    path = os.path.join(REPO, "etc", name)
    with open(path) as handle:
        assert handle.read() == render_sample(schema, title), "run `make sample-config`"
    load_config(schema, path)


def test_the_daemon_stops_with_exit_code_78_and_one_line_naming_the_key(tmp_path):
    path = write(tmp_path, "api: {port: 0}\n")
    result = subprocess.run([sys.executable, os.path.join(REPO, "daemons", "cardshop-scheduler"),
                             "--config", path], capture_output=True, text=True, timeout=60)
    assert result.returncode == 78
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "key 'api.port'" in lines[0]


def test_a_missing_jwt_key_file_stops_the_daemon_with_78(tmp_path):
    path = write(tmp_path, f"auth: {{jwt_key_file: {tmp_path}/missing.key}}\n"
                           "database: {uri: 'mongodb://127.0.0.1:1/', timeout: 1}\n")
    result = subprocess.run([sys.executable, os.path.join(REPO, "daemons", "cardshop-scheduler"),
                             "--config", path], capture_output=True, text=True, timeout=60)
    assert result.returncode == 78
    assert "auth.jwt_key_file" in result.stderr
