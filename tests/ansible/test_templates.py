"""The roles' config templates, rendered by ansible-playbook for the example fleet, load as the daemons load them.

Ansible runs from var/ansible-venv (ansible/venv.sh; its pins conflict with .venv's),
renders with the roles' own config tasks (tests/ansible/render.yml), and each
daemon's `check-config` (schema, then the rules `serve` runs: secret files and
their modes, key lengths, TLS off loopback) judges the result.
"""

import grp
import os
import subprocess
import sys

import pytest
import yaml

from cardshop.writer_helper import configure
from tests.integration.front import nginx

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE = os.path.join(REPO, "ansible")
INVENTORY = os.path.join(ANSIBLE, "inventory", "example", "hosts.yml")
VAULT_PASSWORD = os.path.join(ANSIBLE, "inventory", "example", "vault-password")
CENTRAL, WAREHOUSE, CREATOR, WRITER = ("central.example.org", "warehouse.example.org",
                                       "creator1.example.org", "writer1.example.org")


def render(ansible_bin, folder, *extra):
    """Run render.yml into `folder`; `extra` are more ansible-playbook arguments. Returns its output."""
    env = {**os.environ, "ANSIBLE_CONFIG": os.path.join(ANSIBLE, "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    done = subprocess.run(
        [os.path.join(ansible_bin, "ansible-playbook"), "-i", INVENTORY,
         os.path.join(REPO, "tests", "ansible", "render.yml"), "--vault-password-file", VAULT_PASSWORD,
         "-e", f"render_dir={folder}", "-e", f"render_group={_group()}",
         "-e", f"ansible_python_interpreter={os.path.join(ansible_bin, 'python')}", *extra],
        cwd=ANSIBLE, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return done.stdout


def _group():
    return grp.getgrgid(os.getgid()).gr_name


@pytest.fixture(scope="module")
def rendered(ansible_bin, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fleet")
    first = render(ansible_bin, folder)
    return folder, first


def check_config(daemon, path):
    return subprocess.run([sys.executable, os.path.join(REPO, "daemons", daemon), "--config", str(path),
                           "check-config"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": REPO})


@pytest.mark.parametrize("host, daemon, name", [
    (CENTRAL, "cardshop-scheduler", "scheduler.yaml"),
    (CENTRAL, "cardshop-monitor", "monitor.yaml"),
    (CENTRAL, "cardshop-beat", "beat.yaml"),
    (CENTRAL, "cardshop-manager", "manager.yaml"),
    (WAREHOUSE, "cardshop-warehouse", "warehouse.yaml"),
    (CREATOR, "cardshop-creator", "creator.yaml"),
])
def test_each_rendered_config_passes_its_daemons_check_config(rendered, host, daemon, name):
    folder, _ = rendered
    done = check_config(daemon, folder / host / name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith(": valid")


def test_rendered_configs_point_at_the_fleets_services_and_secrets(rendered):
    folder, _ = rendered
    creator = yaml.safe_load((folder / CREATOR / "creator.yaml").read_text())
    assert creator["broker"]["url"] == "amqps://192.0.2.10:5671/cardshop"
    assert creator["broker"]["username"] == "creator-1"
    # other hosts reach the API through the central host's TLS front, checked with the fleet's CA
    assert creator["scheduler"] == {"api_url": "https://192.0.2.10:8443", "ca_file": str(folder / CREATOR / "ca.crt")}
    scheduler = yaml.safe_load((folder / CENTRAL / "scheduler.yaml").read_text())
    assert scheduler["api"]["listen"] == "127.0.0.1"  # plain HTTP behind the front only
    assert scheduler["broker"]["url"] == "amqp://127.0.0.1:5672/cardshop"  # the broker shares the central host
    assert "192.0.2.10" in scheduler["rabbitmq"]["broker_addresses"]
    manager = yaml.safe_load((folder / CENTRAL / "manager.yaml").read_text())
    # the API believes the browser's address from the manager alone, which calls it over loopback
    assert manager["scheduler"]["api_url"].startswith("http://127.0.0.1:")
    assert scheduler["api"]["trusted_proxies"] == ["127.0.0.1"]
    assert manager["http"]["listen"] == "127.0.0.1" and manager["http"]["trusted_proxies"] == ["127.0.0.1"]
    assert manager["http"]["secure_cookies"] is True
    warehouse = yaml.safe_load((folder / WAREHOUSE / "warehouse.yaml").read_text())
    assert warehouse["ftp"]["listen"] == "0.0.0.0" and "tls" in warehouse
    for path in (folder / CENTRAL / "secrets").iterdir():
        assert path.stat().st_mode & 0o777 == 0o640, path


def test_the_warehouse_certificate_is_signed_by_the_fleet_ca_for_its_address(rendered):
    folder, _ = rendered
    cert = folder / WAREHOUSE / "secrets" / "warehouse.crt"
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(folder / "pki" / "ca.crt"), str(cert)],
                            capture_output=True, text=True, timeout=30)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    text = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-ext", "subjectAltName"],
                          capture_output=True, text=True, timeout=30).stdout
    assert "DNS:warehouse.example.org" in text and "IP Address:192.0.2.11" in text
    assert (folder / WAREHOUSE / "secrets" / "warehouse.key").stat().st_mode & 0o777 == 0o640


def test_the_front_is_a_site_nginx_accepts_with_tls_12_up_hsts_and_the_client_address_set(rendered, tmp_path):
    folder, _ = rendered
    site = folder / CENTRAL / "nginx" / "cardshop.conf"
    text = site.read_text()
    assert text.count("ssl_protocols TLSv1.2 TLSv1.3;") == 2 and text.count("Strict-Transport-Security") == 2
    assert "listen 0.0.0.0:8443 ssl;" in text and "listen 0.0.0.0:443 ssl;" in text
    assert "proxy_pass http://127.0.0.1:8080;" in text and "proxy_pass http://127.0.0.1:8090;" in text
    assert "proxy_set_header X-Cardshop-Client-Address $remote_addr;" in text
    assert (folder / CENTRAL / "nginx" / "tls" / "front.key").stat().st_mode & 0o777 == 0o640
    # nginx -t within Debian's own nginx.conf, as conf.d is included there (binding nothing)
    code, errors = nginx.check(str(site), str(tmp_path))
    assert code == 0 and "warn" not in errors, errors
    text = subprocess.run(["openssl", "x509", "-in", str(folder / CENTRAL / "nginx" / "tls" / "front.crt"),
                           "-noout", "-ext", "subjectAltName"], capture_output=True, text=True, timeout=30).stdout
    assert "DNS:central.example.org" in text and "IP Address:192.0.2.10" in text


def test_the_writer_answers_are_what_writer_helper_configure_accepts(rendered):
    folder, _ = rendered
    path = folder / WRITER / "secrets" / "writer-answers.yaml"
    assert path.stat().st_mode & 0o777 == 0o600
    answers = yaml.safe_load(path.read_text())
    configure.check_answers(answers)
    document = configure.document(answers, "/etc/cardshop/secrets/writer.password", "/etc/cardshop/slots.yaml")
    assert document["scheduler"] == {"api_url": "https://192.0.2.10:8443", "ca_file": str(folder / WRITER / "ca.crt")}
    assert document["broker"] == {"url": "amqps://192.0.2.10:5671/cardshop", "username": "writer-paris",
                                  "password_file": "/etc/cardshop/secrets/writer.password",
                                  "ca_file": str(folder / WRITER / "ca.crt")}


def test_a_second_render_changes_nothing(ansible_bin, rendered):
    folder, first = rendered
    assert "changed=0" not in first.split("PLAY RECAP")[1].splitlines()[1]
    again = render(ansible_bin, folder)
    recap = again.split("PLAY RECAP")[1]
    hosts = [line for line in recap.splitlines() if ": ok=" in line]
    assert len(hosts) == 4 and all("changed=0 " in line for line in hosts), recap


def test_new_secrets_and_a_mail_relay_rendered_with_diff_never_show_and_only_the_beat_reads_its_password(
        ansible_bin, rendered, tmp_path):
    # One render of both (each render costs half a minute): new secrets, and a relay in the inventory.
    folder, _ = rendered
    copy = tmp_path / "fleet"
    subprocess.run(["cp", "-a", str(folder), str(copy)], check=True)
    new = {"vault_cardshop_admin_password": "admin-" + os.urandom(12).hex(),
           "vault_cardshop_system_password": "system-" + os.urandom(12).hex(),
           "vault_cardshop_jwt_key": "jwt-" + os.urandom(24).hex(),
           "vault_cardshop_manager_session_key": "session-" + os.urandom(24).hex(),
           "vault_cardshop_worker_passwords": {"creator-1": "creator-" + os.urandom(12).hex(),
                                               "writer-paris": "writer-" + os.urandom(12).hex()}}
    mail = {"cardshop_scheduler_mail_smtp_host": "smtp.example.org", "cardshop_scheduler_mail_smtp_port": 587,
            "cardshop_scheduler_mail_username": "cardshop",
            "cardshop_scheduler_mail_password": "smtp-" + os.urandom(12).hex(),
            "cardshop_scheduler_mail_manager_url": "https://cardshop.example.org"}
    output = render(ansible_bin, copy, "--diff", "-e", yaml.safe_dump({**new, **mail}, default_flow_style=True).strip())
    assert "changed=0 " not in output.split("PLAY RECAP")[1], "the new secrets were not written"
    values = [value for value in new.values() if isinstance(value, str)]
    values += list(new["vault_cardshop_worker_passwords"].values()) + [mail["cardshop_scheduler_mail_password"]]
    shown = [value.split("-")[0] for value in values if value in output]
    assert shown == [], f"--diff printed these secrets: {shown}"

    beat = copy / CENTRAL / "beat.yaml"
    result = check_config("cardshop-beat", beat)
    assert result.returncode == 0, result.stderr
    section = yaml.safe_load(beat.read_text())["mail"]
    assert section["smtp_host"] == "smtp.example.org" and section["smtp_port"] == 587
    assert section["manager_url"] == "https://cardshop.example.org"
    password = section["password_file"]
    assert oct(os.stat(password).st_mode & 0o777) == "0o640"
    assert open(password).read() == mail["cardshop_scheduler_mail_password"] + "\n"
    assert "mail" not in yaml.safe_load((folder / CENTRAL / "beat.yaml").read_text())  # none by default
