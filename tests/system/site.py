"""What an admin does on a test system: install our .debs with apt, set up the broker, configs, accounts.

Everything goes through the tools an admin has: apt, systemctl, rabbitmqctl,
the `cardshop` CLI and the scheduler API (called from inside the machine,
whose loopback is its own).
"""

import json
import os
import secrets
import shlex
import time

import yaml

from devstack import samples
from tests.system.machine import REPO, MachineError

HERE = os.path.dirname(os.path.abspath(__file__))
DEBS = "/root/debs"
SECRETS = "/etc/cardshop/secrets"
CENTRAL_PACKAGES = ("cardshop-scheduler", "cardshop-warehouse", "cardshop-creator", "cardshop-manager")
# The database host's: PostgreSQL 17 (from Debian) with DocumentDB, FerretDB 2, cardshop-database-setup.
DATABASE_PACKAGES = ("postgresql-17-documentdb", "ferretdb", "cardshop-database")
DATABASE_DAEMONS = ("scheduler", "monitor", "beat")  # each logs in with its own database role
CENTRAL_UNITS = ("cardshop-scheduler", "cardshop-monitor", "cardshop-beat", "cardshop-warehouse",
                 "cardshop-creator", "cardshop-manager")
API_URL = "http://127.0.0.1:8080"
BROKER_URL = "amqp://127.0.0.1:5672/cardshop"
CREATOR, WRITER = "creator-1", "writer-1"
CONTENT_PORT = 8800
RECIPIENT = {"name": "Ada Lovelace", "email": "ada@example.org", "address": "12 St James's Sq"}


def copy_debs(machine, debs, folder=DEBS):
    """The .debs into the machine, as an admin would scp them."""
    for path in debs.values():
        machine.put(path, f"{folder}/{os.path.basename(path)}")
    return folder


def apt_install_files(machine, debs, names, folder=DEBS, keep_config=False):
    """`apt install ./NAME_*.deb …` in `folder` (dependencies from Debian: the base's cache);
    keep_config: an admin's edited conffiles are kept where the new version changed them too
    (the answer an admin gives dpkg's question)."""
    files = " ".join(f"./{os.path.basename(debs[name])}" for name in names)
    options = " -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold" if keep_config else ""
    return machine.sh(f"cd {folder} && apt-get install -y -q{options} {files}", timeout=900)


# The group of the one daemon that reads each secret (0640 root:GROUP); a name missing here is root's only.
SECRET_GROUPS = {"jwt.key": "cardshop-scheduler", "system.password": "cardshop-system",
                 "admin.password": "cardshop-scheduler", "broker.password": "cardshop-system",
                 "manager-session.key": "cardshop-manager", f"{CREATOR}.password": "cardshop-creator"}


def secret(machine, name, value=None, group=None):
    """/etc/cardshop/secrets/NAME (0640 root:GROUP, by default its daemon's), written unless it exists;
    its value."""
    path = machine.path(f"{SECRETS}/{name}")
    if not os.path.exists(path):
        machine.write(f"{SECRETS}/{name}", (value or secrets.token_urlsafe(36)) + "\n", mode=0o640)
        machine.run("chown", f"root:{group or SECRET_GROUPS.get(name, 'root')}", f"{SECRETS}/{name}")
    return open(path).read().strip()


def edit_config(machine, role, changes):
    """Merge `changes` (section -> keys) into /etc/cardshop/ROLE.yaml, as an admin's editor would."""
    path = machine.path(f"/etc/cardshop/{role}.yaml")
    config = yaml.safe_load(open(path)) if os.path.exists(path) else {}
    config = config or {}
    for section, values in changes.items():
        if isinstance(values, dict):
            config.setdefault(section, {})
            config[section] = {**(config[section] or {}), **values}
        else:
            config[section] = values
    machine.write(f"/etc/cardshop/{role}.yaml", yaml.safe_dump(config, sort_keys=False), mode=0o640)
    machine.run("chown", "root:cardshop", f"/etc/cardshop/{role}.yaml")


def setup_broker(machine):
    """RabbitMQ asks the scheduler (HTTP auth backend + cache): the package's example snippet, the vhost."""
    snippet = "/usr/share/cardshop/rabbitmq/cardshop.conf"
    if not os.path.exists(machine.path(snippet)):
        raise MachineError(f"{snippet} is not installed by cardshop-scheduler")
    machine.sh(f"cat {snippet} >> /etc/rabbitmq/rabbitmq.conf"
               " && rabbitmq-plugins --offline enable rabbitmq_auth_backend_http rabbitmq_auth_backend_cache"
               " && systemctl restart rabbitmq-server", timeout=300)
    # default_vhost applies to a new node only; the package's first start made the node already.
    machine.run("rabbitmqctl", "add_vhost", "cardshop", check=False, timeout=60)
    machine.wait_active(["rabbitmq-server.service"], timeout=120)


def setup_database(machine):
    """`cardshop-database-setup` as the admin runs it; then its --check finds nothing missing and
    FerretDB 2 runs. Its output (what it did)."""
    done = machine.run("cardshop-database-setup", timeout=600)
    check = machine.run("cardshop-database-setup", "--check", check=False, timeout=120)
    if check.returncode != 0:
        raise MachineError(f"cardshop-database-setup --check after the setup:\n{check.stdout}{check.stderr}")
    machine.wait_active(["postgresql@17-main.service", "ferretdb.service"], timeout=120)
    return done.stdout


def database_uri_file(daemon):
    """The URI file cardshop-database-setup writes for `daemon`'s database role."""
    return f"{SECRETS}/database-{daemon}.uri"


def use_database_roles(machine):
    """database.uri_file of the scheduler, monitor and beat: each its own URI file."""
    for daemon in DATABASE_DAEMONS:
        edit_config(machine, daemon, {"database": {"uri_file": database_uri_file(daemon)}})


def configure_central(machine):
    """Secrets and configs of every central role, edited from what the packages ship."""
    system = secret(machine, "system.password")
    secret(machine, "broker.password", system)  # monitor and beat log into the broker as the system user
    secret(machine, "jwt.key", secrets.token_urlsafe(48))
    secret(machine, "admin.password")
    secret(machine, "manager-session.key", secrets.token_urlsafe(48))
    secret(machine, f"{CREATOR}.password")
    edit_config(machine, "scheduler", {
        "api": {"trusted_proxies": ["127.0.0.1"]},  # the manager names each browser
        "broker": {"url": BROKER_URL, "username": "cardshop-system", "password_file": f"{SECRETS}/system.password"},
        "bootstrap_admin": {"username": "admin", "email": "admin@cardshop.invalid",
                            "password_file": f"{SECRETS}/admin.password"},
        "auth": {"bcrypt_rounds": 4, "login_rate": 100, "login_burst": 100}})
    edit_config(machine, "creator", {
        "broker": {"url": BROKER_URL, "username": CREATOR, "password_file": f"{SECRETS}/{CREATOR}.password"},
        "creator": {"fetch_allow": [{"network": "127.0.0.1"}], "retry_window": 30}})
    edit_config(machine, "warehouse", {"storage": {"reserve_bytes": 0}})
    # The test cards are memory-backed loop devices: gigabytes a second, not a card's 400 MB/s.
    edit_config(machine, "monitor", {"monitor": {"max_card_rate": 20_000_000_000}})
    use_database_roles(machine)


def api(machine, method, path, body=None, user="admin"):
    """(status, body) of an API call made inside the machine as `user` (password from secrets/)."""
    machine.put(os.path.join(HERE, "inside_api.py"), "/root/inside_api.py")
    command = ["env", *(f"{name}={value}" for name, value in machine.api_env.items()),
               "python3", "/root/inside_api.py", user, f"{SECRETS}/{user}.password", method, path]
    if body is not None:
        command.append(json.dumps(body))
    reply = json.loads(machine.run(*command, timeout=60).stdout)
    return reply["status"], reply["body"]


def ok(reply, expected=(200, 201, 204)):
    status, body = reply
    if status not in expected:
        raise MachineError(f"API answered {status}: {body}")
    return body


def cli(machine, *args, user="admin"):
    """The admin CLI `cardshop`, logged in as `user` (password from secrets/)."""
    password = open(machine.path(f"{SECRETS}/{user}.password")).read().strip()
    machine.run("sh", "-c", f"CARDSHOP_PASSWORD={shlex.quote(password)} cardshop --api {API_URL} login {user}")
    return machine.run("cardshop", *args)


def accounts(machine):
    """The creator's and the writer host's users, made with the CLI as an admin would; the warehouse."""
    for user, role in ((CREATOR, "creator"), (WRITER, "writer")):
        secret(machine, f"{user}.password")
        cli(machine, "user", "add", user, "--role", role, "--email", f"{user}@cardshop.invalid",
            "--password-file", f"{SECRETS}/{user}.password")
    ftp = "ftp://127.0.0.1:2121/"
    ok(api(machine, "POST", "/warehouses", {"name": "main", "upload_url": ftp, "download_url": ftp,
                                            "default": True}))


def central_units(machine):
    """The cardshop units the target pulls in, as systemd lists them."""
    out = machine.run("systemctl", "list-dependencies", "--plain", "--no-legend", "cardshop.target").stdout
    return sorted(line.strip() for line in out.splitlines()[1:] if line.strip().endswith(".service"))


def start_to_ready(machine, timeout=300):
    """Seconds from `systemctl start cardshop.target` to every central service it pulls in active (READY=1)."""
    started = time.monotonic()
    machine.run("systemctl", "start", "--no-block", "cardshop.target")
    units = central_units(machine)
    missing = set(CENTRAL_UNITS) - {unit.removesuffix(".service") for unit in units}
    if missing:
        raise MachineError(f"cardshop.target does not pull in {', '.join(sorted(missing))}")
    machine.wait_active(units, timeout=timeout)
    return time.monotonic() - started


def central_system(machine, debs):
    """Every central role installed and configured as an admin would (the database with
    cardshop-database-setup, each daemon with its own database role), cardshop.target stopped."""
    copy_debs(machine, debs)
    apt_install_files(machine, debs, ["python3-cardshop", *DATABASE_PACKAGES, *CENTRAL_PACKAGES])
    machine.apt_install("rabbitmq-server")
    setup_database(machine)
    setup_broker(machine)
    configure_central(machine)
    machine.run("systemctl", "start", "cardshop-scheduler.service", timeout=300)
    accounts(machine)
    machine.run("systemctl", "stop", "cardshop-scheduler.service", timeout=60)


# -- orders -------------------------------------------------------------------------------------------

def serve_content(machine, port=CONTENT_PORT):
    """A base image and files on an HTTP server (with Range) inside the machine, on its loopback; the recipe."""
    folder = machine.path("/srv/content")
    os.makedirs(folder, exist_ok=True)
    base = samples.make_base_image(folder, "base.img")
    zim = samples.make_random_file(folder, "wikipedia.zim", 8 * 1024 * 1024)
    machine.put(os.path.join(REPO, "devstack", "content.py"), "/srv/content.py")
    machine.run("systemd-run", "--unit=content", "python3", "/srv/content.py", "/srv/content", str(port))
    url = f"http://127.0.0.1:{port}"
    return {"base": {"source": f"{url}/base.img.xz", "checksum": samples.checksum(base)},
            "output": {"size": "auto"},
            "files": [{"to": "/data/zims/wikipedia.zim", "url": f"{url}/wikipedia.zim",
                       "checksum": samples.checksum(zim), "via": "direct"},
                      {"to": "/data/message.txt", "content": "Written in a booted Debian 13."}]}


def with_big_file(machine, recipe, size, port=CONTENT_PORT):
    """`recipe` plus a random file of `size` bytes served by serve_content's server: a longer write."""
    big = samples.make_random_file(machine.path("/srv/content"), "big.bin", size)
    return {**recipe, "files": recipe["files"] + [
        {"to": "/data/big.bin", "url": f"http://127.0.0.1:{port}/big.bin", "checksum": samples.checksum(big),
         "via": "direct"}]}


def place_order(machine, recipe, quantity):
    """POST /orders as the admin, from inside `machine`: the new order."""
    return ok(api(machine, "POST", "/orders", {"recipe": recipe, "sd_card": {"size": 1, "type": "physical"},
                                               "quantity": quantity, "recipient": RECIPIENT}))


def order_of(machine, order_id):
    return ok(api(machine, "GET", f"/orders/{order_id}"))


def write_tasks(order):
    return [task for task in order["tasks"] if task["kind"] == "write"]


def wait_order(machine, order_id, statuses, timeout):
    """The order once its status is one of `statuses`; MachineError when it failed or was canceled."""
    def probe():
        order = order_of(machine, order_id)
        if order["status"] in ("creation_failed", "write_failed", "canceled"):
            raise MachineError(f"order {order['status']}: {order['statuses'][-1]}")
        return order if order["status"] in statuses else None
    return machine.wait_for(f"order {order_id} did not reach {statuses}", probe, timeout=timeout, interval=1)


def card_folder(machine):
    """On the host: the folder of the loop devices' backing files (the cards) of `machine`."""
    folder = os.path.join(machine.dir, "cards")
    os.makedirs(folder, exist_ok=True)
    return folder
