"""The fleet's TLS front: a real nginx with the cardshop_front role's own site, before a real scheduler and manager.

The site is the role's template rendered for loopback ports; its certificate is
signed by a CA made here (as cardshop_common's pki.yml makes the fleet's). A
client that trusts that CA is served; one that does not gets an error naming
the CA it used; the API counts logins against the address that reached the front.
"""

import http.client
import os
import shutil
import ssl
import subprocess
import sys

import jinja2
import pytest

from cardshop.client import ApiCertificateError, ApiClient
from devstack.manager import Manager
from devstack.processes import Process, free_port, wait_for_port
from tests.conftest import TEST_AUTH
from tests.integration.front import nginx

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO, "ansible", "roles", "cardshop_front")


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(folder, name):
    """A CA (name.crt, name.key) as pki.yml makes the fleet's."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=folder)
    return os.path.join(folder, f"{name}.crt")


def sign(folder, ca, service, names):
    """service.crt/.key for `names` (subjectAltName entries), signed by `ca` as certificate.yml signs."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2", "-CA", f"{ca}.crt",
            "-CAkey", f"{ca}.key", "-subj", "/CN=central", "-addext", "subjectAltName=" + ",".join(names),
            "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth",
            "-keyout", f"{service}.key", "-out", f"{service}.crt", cwd=folder)


def render_site(path, **values):
    """The role's template with its defaults overridden by `values` (as Ansible renders it, minus the header)."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")),
                                     undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    text = environment.get_template("cardshop.conf.j2").render(ansible_managed="rendered by test_front.py",
                                                               **values)
    with open(path, "w") as handle:
        handle.write(text)


class Front:
    """nginx in the foreground on loopback, its prefix, temp folders and logs under `folder`."""

    def __init__(self, folder, scheduler_port, manager_port):
        self.folder = folder
        self.api_port, self.manager_port = free_port(), free_port()
        tls = os.path.join(folder, "tls")
        os.makedirs(tls)
        self.ca = make_ca(folder, "ca")
        self.other_ca = make_ca(folder, "other-ca")
        sign(tls, os.path.join(folder, "ca"), "front", ["IP:127.0.0.1", "DNS:localhost"])
        self.site = os.path.join(folder, "cardshop.conf")
        render_site(self.site, cardshop_front_api_port=self.api_port, cardshop_front_manager_port=self.manager_port,
                    cardshop_front_addresses=["127.0.0.1"],
                    cardshop_front_api_upstream=f"127.0.0.1:{scheduler_port}",
                    cardshop_front_manager_upstream=f"127.0.0.1:{manager_port}",
                    cardshop_front_hsts_max_age=31536000, cardshop_front_max_body="1m",
                    cardshop_front_client_timeout=30, cardshop_front_upstream_timeout=120,
                    cardshop_front_tls_dir=tls)
        self.conf = nginx.main_conf(self.site, folder)
        self.process = Process("nginx", folder)

    def start(self):
        self.process.start([nginx.nginx_binary(), "-p", self.folder, "-c", self.conf, "-g", "daemon off;"])
        wait_for_port(self.api_port, 20, self.process.popen, "nginx", os.path.join(self.folder, "error.log"))
        wait_for_port(self.manager_port, 20, self.process.popen, "nginx", os.path.join(self.folder, "error.log"))

    @property
    def api_url(self):
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def manager_url(self):
        return f"https://127.0.0.1:{self.manager_port}"

    def connect(self, port, source):
        """An HTTPS connection from the loopback address `source`, checked with the fleet's CA."""
        return http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(cafile=self.ca),
                                           source_address=(source, 0), timeout=30)


@pytest.fixture(scope="module")
def manager(tmp_path_factory, scheduler):
    server = Manager(str(tmp_path_factory.mktemp("front-manager")), scheduler.url, trusted_proxies=["127.0.0.1"])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def front(tmp_path_factory, scheduler, manager):
    if not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
        pytest.fail("nginx is not installed: `make deps` installs Debian's nginx")
    server = Front(str(tmp_path_factory.mktemp("front")), scheduler.port, manager.port)
    server.start()
    yield server
    server.process.stop()


def test_a_client_with_the_fleets_ca_reaches_the_api_and_is_told_to_keep_to_https(front):
    reply = ApiClient(front.api_url, ca_file=front.ca).get("/health")
    assert reply.status == 200, reply.body
    assert reply.headers["Strict-Transport-Security"] == "max-age=31536000"
    missing = ApiClient(front.api_url, ca_file=front.ca).get("/no-such-route")
    assert missing.status == 404 and missing.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize("which", ["system", "other"])
def test_a_client_without_the_fleets_ca_is_refused_with_an_error_naming_the_ca_it_used(front, which):
    ca_file = None if which == "system" else front.other_ca
    with pytest.raises(ApiCertificateError) as caught:
        ApiClient(front.api_url, ca_file=ca_file).get("/health")
    message = str(caught.value)
    assert front.api_url in message and "certificate" in message
    assert (front.other_ca in message) if ca_file else ("system's CA bundle" in message), message


def login(front, source, username, password, claimed=None):
    """POST /auth/authorize through the front from loopback address `source`; `claimed`: a client address
    the client itself writes in X-Cardshop-Client-Address. Returns the status."""
    connection = front.connect(front.api_port, source)
    headers = {"Content-Type": "application/json"}
    if claimed:
        headers["X-Cardshop-Client-Address"] = claimed
    body = f'{{"username": "{username}", "password": "{password}"}}'
    connection.request("POST", "/auth/authorize", body=body, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


def test_the_api_counts_failed_logins_against_the_address_that_reached_the_front(front, make_user):
    user = make_user("creator")
    # 127.0.0.2 fails until locked, naming another client itself: the front overwrites that header
    statuses = [login(front, "127.0.0.2", user.username, "wrong", claimed="127.0.0.3")
                for _ in range(TEST_AUTH["max_failures"] + 1)]
    assert statuses[-1] == 429, statuses
    assert login(front, "127.0.0.2", user.username, user.password) == 429
    # every client reaches the API from nginx's 127.0.0.1: without the front's header all would be locked
    assert login(front, "127.0.0.3", user.username, user.password) == 200


def test_the_manager_behind_the_front_sets_secure_cookies_and_hsts(front):
    connection = front.connect(front.manager_port, "127.0.0.1")
    connection.request("GET", "/login")
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 200
    assert answer.getheader("Strict-Transport-Security") == "max-age=31536000"
    cookies = answer.msg.get_all("Set-Cookie")
    assert cookies and all("secure" in [part.strip().lower() for part in cookie.split(";")] for cookie in cookies), \
        cookies


def test_the_cli_checks_the_api_with_its_ca_file(front, tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "cardshop.cli.main", "--config-dir", str(tmp_path),
                               "--api", front.api_url, *args, "login", "nobody"],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": REPO, "CARDSHOP_PASSWORD": "wrong"})
    untrusted = cli("--ca-file", front.other_ca)
    assert untrusted.returncode == 4 and front.other_ca in untrusted.stderr, untrusted.stderr
    trusted = cli("--ca-file", front.ca)  # reaches the API, which refuses the login
    assert trusted.returncode == 3 and "login failed" in trusted.stderr, trusted.stderr


def test_the_brokers_auth_routes_are_closed_at_the_front(front):
    connection = front.connect(front.api_port, "127.0.0.2")
    connection.request("POST", "/auth/rabbitmq/user", body="username=admin&password=x",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    reply = connection.getresponse()
    body = reply.read().decode()
    connection.close()
    assert reply.status == 403 and "allow" not in body and "deny" not in body, (reply.status, body)
