"""check-config runs every rule `serve` runs: the schema first, then the logical checks."""

import os
import subprocess
import sys

import pytest

from tests.unit.config.test_load import REPO


def secret(tmp_path, name, value, mode=0o600):
    path = tmp_path / name
    path.write_text(value)
    os.chmod(path, mode)
    return str(path)


def config(tmp_path, key_file, broker_url="amqp://127.0.0.1:5672/cardshop"):
    path = tmp_path / "scheduler.yaml"
    path.write_text(
        f"auth: {{jwt_key_file: {key_file}}}\n"
        f"database: {{uri: 'mongodb://127.0.0.1:1/', timeout: 1}}\n"
        f"system_user: {{password_file: {tmp_path}/absent}}\n"
        f"broker: {{url: '{broker_url}', username: cardshop-system,"
        f" password_file: {secret(tmp_path, 'broker.password', 'broker password')}}}\n")
    return str(path)


def check_config(path, daemon="cardshop-scheduler"):
    return subprocess.run([sys.executable, os.path.join(REPO, "daemons", daemon),
                           "--config", path, "check-config"], capture_output=True, text=True, timeout=60)


def test_a_config_serve_accepts_is_valid(tmp_path):
    result = check_config(config(tmp_path, secret(tmp_path, "jwt.key", "k" * 32)))
    assert result.returncode == 0 and "valid" in result.stdout, result.stderr


@pytest.mark.parametrize("mode, value, complaint", [
    (0o644, "k" * 32, "readable by everyone"),
    (0o600, "sixsix", "at least 32 characters"),
])
def test_a_weak_jwt_key_is_refused_naming_the_key(tmp_path, mode, value, complaint):
    result = check_config(config(tmp_path, secret(tmp_path, "jwt.key", value, mode)))
    assert result.returncode == 78
    assert "auth.jwt_key_file" in result.stderr and complaint in result.stderr


def test_plain_amqp_off_loopback_is_refused_naming_the_key(tmp_path):
    path = config(tmp_path, secret(tmp_path, "jwt.key", "k" * 32), "amqp://rabbit.example.org/cardshop")
    result = check_config(path)
    assert result.returncode == 78 and "broker.url" in result.stderr and "loopback" in result.stderr


def test_a_malformed_trusted_proxy_of_the_api_is_refused_naming_the_entry(tmp_path):
    path = config(tmp_path, secret(tmp_path, "jwt.key", "k" * 32))
    with open(path, "a") as handle:
        handle.write("api: {trusted_proxies: ['127.0.0.1', '10.0.0.0/33']}\n")
    result = check_config(path)
    assert result.returncode == 78, result.stdout + result.stderr
    assert "api.trusted_proxies.1" in result.stderr and "not an IP address or network" in result.stderr


def test_a_malformed_trusted_proxy_of_the_manager_is_refused_naming_the_entry(tmp_path):
    path = tmp_path / "manager.yaml"
    path.write_text(f"session: {{secret_file: {secret(tmp_path, 'session.key', 's' * 32)}}}\n"
                    "http: {trusted_proxies: ['::1', 'proxy.example.org']}\n")
    result = check_config(str(path), "cardshop-manager")
    assert result.returncode == 78, result.stdout + result.stderr
    assert "http.trusted_proxies.1" in result.stderr and "not an IP address or network" in result.stderr
    path.write_text(f"session: {{secret_file: {tmp_path / 'session.key'}}}\n"
                    "http: {trusted_proxies: ['::1', '192.0.2.0/24']}\n")
    assert check_config(str(path), "cardshop-manager").returncode == 0


def test_a_warehouse_whose_logins_waiting_could_take_every_connection_is_refused(tmp_path):
    path = tmp_path / "warehouse.yaml"
    path.write_text("ftp: {max_connections: 64, max_logging_in: 64}\n"
                    "scheduler: {api_url: 'http://127.0.0.1:1'}\n")
    result = subprocess.run([sys.executable, os.path.join(REPO, "daemons", "cardshop-warehouse"),
                             "--config", str(path), "check-config"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 78 and "ftp.max_logging_in" in result.stderr \
        and "ftp.max_connections" in result.stderr, result.stderr
