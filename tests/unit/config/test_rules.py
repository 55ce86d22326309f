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


def worker_config(tmp_path, daemon, scheduler):
    """A worker's config (creator, writer) or the warehouse's, with this `scheduler` section (a flow mapping)."""
    password = secret(tmp_path, "broker.password", "broker password")
    broker = f"broker: {{url: 'amqp://127.0.0.1:5672/cardshop', password_file: {password}}}\n"
    path = tmp_path / f"{daemon}.yaml"
    path.write_text(("" if daemon == "cardshop-warehouse" else broker) + f"scheduler: {scheduler}\n")
    return str(path)


@pytest.mark.parametrize("daemon", ["cardshop-creator", "cardshop-writer", "cardshop-warehouse", "cardshop-monitor",
                                    "cardshop-manager"])
def test_a_plain_http_api_url_off_loopback_is_refused_naming_the_key(tmp_path, daemon):
    path = worker_config(tmp_path, daemon, "{api_url: 'http://10.1.2.3:8080'}")
    if daemon in ("cardshop-manager", "cardshop-monitor"):  # their other sections' secrets first
        path = tmp_path / "other.yaml"
        extra = (f"session: {{secret_file: {secret(tmp_path, 'session.key', 's' * 32)}}}\n" if daemon == "cardshop-manager"
                 else f"database: {{uri: 'mongodb://127.0.0.1:1/'}}\nbroker: {{password_file: "
                      f"{secret(tmp_path, 'broker.password', 'p')}}}\n")
        path.write_text(extra + "scheduler: {api_url: 'http://10.1.2.3:8080'}\n")
    result = check_config(str(path), daemon)
    assert result.returncode == 78, result.stdout + result.stderr
    assert "scheduler.api_url" in result.stderr and "https://" in result.stderr, result.stderr


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://127.0.0.5:8080", "http://[::1]:8080",
                                 "http://localhost:8080", "https://10.1.2.3:8443"])
def test_an_api_url_on_loopback_or_over_https_is_accepted(tmp_path, url):
    result = check_config(worker_config(tmp_path, "cardshop-creator", f"{{api_url: '{url}'}}"), "cardshop-creator")
    assert result.returncode == 0, result.stderr


def test_a_scheduler_ca_file_that_is_missing_or_not_a_certificate_is_refused_naming_the_key(tmp_path):
    missing = worker_config(tmp_path, "cardshop-writer", f"{{api_url: 'https://10.1.2.3:8443', ca_file: {tmp_path}/no.crt}}")
    result = check_config(missing, "cardshop-writer")
    assert result.returncode == 78 and "scheduler.ca_file" in result.stderr and "cannot read" in result.stderr, \
        result.stderr
    (tmp_path / "junk.crt").write_text("not a certificate\n")
    junk = worker_config(tmp_path, "cardshop-writer", f"{{api_url: 'https://10.1.2.3:8443', ca_file: {tmp_path}/junk.crt}}")
    result = check_config(junk, "cardshop-writer")
    assert result.returncode == 78 and "scheduler.ca_file" in result.stderr, result.stderr


@pytest.mark.parametrize("listen", ["0.0.0.0", "10.1.2.3", "::"])
def test_a_scheduler_listening_off_loopback_is_refused_naming_the_key_and_the_front(tmp_path, listen):
    path = config(tmp_path, secret(tmp_path, "jwt.key", "k" * 32))
    with open(path, "a") as handle:
        handle.write(f"api: {{listen: '{listen}'}}\n")
    result = check_config(path)
    assert result.returncode == 78, result.stdout + result.stderr
    assert "api.listen" in result.stderr and "TLS front" in result.stderr, result.stderr


def test_a_manager_listening_off_loopback_is_refused_naming_the_key_and_the_front(tmp_path):
    path = tmp_path / "manager.yaml"
    path.write_text(f"session: {{secret_file: {secret(tmp_path, 'session.key', 's' * 32)}}}\n"
                    "http: {listen: 0.0.0.0}\n")
    result = check_config(str(path), "cardshop-manager")
    assert result.returncode == 78 and "http.listen" in result.stderr and "TLS front" in result.stderr, result.stderr
    path.write_text(f"session: {{secret_file: {tmp_path / 'session.key'}}}\nhttp: {{listen: 127.0.0.1}}\n")
    assert check_config(str(path), "cardshop-manager").returncode == 0


def test_a_metrics_endpoint_off_loopback_or_with_an_open_token_file_is_refused_naming_the_key(tmp_path):
    path = config(tmp_path, secret(tmp_path, "jwt.key", "k" * 32))
    base = open(path).read()
    with open(path, "w") as handle:
        handle.write(base + "metrics: {listen: 0.0.0.0, port: 9464}\n")
    result = check_config(path)
    assert result.returncode == 78 and "metrics.listen" in result.stderr and "TLS front" in result.stderr, \
        result.stderr
    token = secret(tmp_path, "metrics.token", "t" * 32, mode=0o644)
    with open(path, "w") as handle:
        handle.write(base + f"metrics: {{port: 9464, token_file: {token}}}\n")
    result = check_config(path)
    assert result.returncode == 78 and "metrics.token_file" in result.stderr, result.stderr
    os.chmod(token, 0o600)
    assert check_config(path).returncode == 0


def beat_config(tmp_path, mail):
    path = tmp_path / "beat.yaml"
    path.write_text(
        "database: {uri: 'mongodb://127.0.0.1:1/', timeout: 1}\n"
        f"broker: {{url: 'amqp://127.0.0.1:5672/cardshop', username: cardshop-system,"
        f" password_file: {secret(tmp_path, 'broker.password', 'broker password')}}}\n"
        f"mail: {mail}\n")
    return str(path)


@pytest.mark.parametrize("mail, complaint", [
    ("{smtp_host: relay.example.org, username: shop, starttls: false, password_file: PASSWORD}",
     "key 'mail.starttls': plain SMTP to relay.example.org"),
    ("{smtp_host: relay.example.org, username: shop}", "key 'mail.password_file': required with mail.username"),
    ("{smtp_host: relay.example.org, username: shop, password_file: OPEN}", "key 'mail.password_file':"),
    ("{smtp_port: 25}", "missing key 'mail.smtp_host'"),
])
def test_the_beat_refuses_mail_settings_that_would_leak_or_cannot_work(tmp_path, mail, complaint):
    mail = mail.replace("PASSWORD", secret(tmp_path, "smtp.password", "pw")).replace(
        "OPEN", secret(tmp_path, "open.password", "pw", mode=0o644))
    result = check_config(beat_config(tmp_path, mail), "cardshop-beat")
    assert result.returncode == 78 and complaint in result.stderr, result.stderr


@pytest.mark.parametrize("mail", [
    "{smtp_host: localhost}",  # the host's MTA
    "{smtp_host: 127.0.0.1, smtp_port: 2525, username: shop, starttls: false, password_file: PASSWORD}",
    "{smtp_host: relay.example.org, smtp_port: 587, username: shop, password_file: PASSWORD}",  # STARTTLS by default
])
def test_the_beat_takes_an_mta_a_loopback_relay_and_a_relay_with_starttls(tmp_path, mail):
    mail = mail.replace("PASSWORD", secret(tmp_path, "smtp.password", "pw"))
    result = check_config(beat_config(tmp_path, mail), "cardshop-beat")
    assert result.returncode == 0, result.stderr
