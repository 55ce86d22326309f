"""debian/control's Depends agree with what each role's daemons import and run; each shipped file ships once.

The daemons each package ships come from its debian/*.install file; what
they may load comes from tests/unit/test_layers.py (closure of the entry
file and of the module it runs). A Debian package a daemon needs must be in
its package's Depends or in python3-cardshop's; one its host must not load
(the layers test's forbidden set) must be in neither.
"""

import ast
import fnmatch
import os
import sys
import tomllib

import pytest

from tests.unit.config.test_load import REPO
from tests.unit.test_layers import DAEMONS, MODULES, TOOLS, closure, imports

DEBIAN = os.path.join(REPO, "packaging", "debian")
LIBRARY = "python3-cardshop"

# Top-level Python module -> the Debian 13 package that provides it.
PROVIDERS = {
    "amqp": "python3-amqp",
    "bcrypt": "python3-bcrypt",
    "bmaptool": "bmap-tools",  # Debian 13's name of the module
    "bmaptools": "bmap-tools",  # Debian 12's, still tried first
    "bottle": "python3-bottle",
    "bson": "python3-pymongo",
    "celery": "python3-celery",
    "jsonschema": "python3-jsonschema",
    "jwt": "python3-jwt",
    "kombu": "python3-kombu",
    "pyftpdlib": "python3-pyftpdlib",
    "prometheus_client": "python3-prometheus-client",
    "pymongo": "python3-pymongo",
    "pyudev": "python3-pyudev",
    "sdnotify": "python3-sdnotify",
    "waitress": "python3-waitress",
    "yaml": "python3-yaml",
}
# Commands the code runs (a list or tuple literal starting with the name) -> the Debian package with it;
# None: always there (Essential, or systemd itself on a host that runs our units).
COMMANDS = {
    "gzip": None,
    "mke2fs": "e2fsprogs",
    "pg_createcluster": "postgresql-common",
    "pg_ctlcluster": "postgresql-common",
    "runuser": None,  # util-linux, Essential
    "sfdisk": "fdisk",
    "systemctl": None,
    "udevadm": "udev",
    "xz": "xz-utils",
    "zstd": "zstd",
}
# Python packages a role depends on that its own code does not import, and why.
INDIRECT = {
    "cardshop-warehouse": {"python3-openssl"},  # pyftpdlib's TLS_FTPHandler imports OpenSSL
}


def control():
    """Binary package name -> set of package names in its Depends (versions and substvars dropped)."""
    with open(os.path.join(DEBIAN, "control")) as handle:
        paragraphs = handle.read().split("\n\n")
    packages = {}
    for paragraph in paragraphs:
        fields, name = {}, None
        for line in paragraph.splitlines():
            if line.startswith((" ", "\t")) and name:
                fields[name] += " " + line.strip()
            elif ":" in line:
                name, _, value = line.partition(":")
                fields[name] = value.strip()
        if "Package" in fields:
            depends = {alternative.split()[0] for item in fields.get("Depends", "").split(",")
                       for alternative in item.split("|") if alternative.strip()}
            packages[fields["Package"]] = {name for name in depends if not name.startswith("${")}
    return packages


def shipped():
    """Source path in the tree -> the packages whose .install file lists it."""
    found = {}
    for name in os.listdir(DEBIAN):
        if name.endswith(".install"):
            with open(os.path.join(DEBIAN, name)) as handle:
                for line in handle:
                    if line.strip() and not line.startswith("#"):
                        found.setdefault(line.split()[0], []).append(name.removesuffix(".install"))
    return found


def needs(daemon):
    """Top-level non-standard modules the daemon may load: its entry file's imports and its module's."""
    outside = set()
    names = imports(os.path.join(REPO, "daemons", daemon)) + [DAEMONS[daemon][0]]
    for name in names:
        if name in MODULES:
            outside |= closure(name)
        elif not name.startswith("cardshop"):
            outside.add(name.split(".")[0])
    return outside - set(sys.stdlib_module_names)


def cardshop_modules(daemon):
    """The cardshop modules the daemon may load (its entry file's imports, followed)."""
    seen, todo = set(), imports(os.path.join(REPO, "daemons", daemon)) + [DAEMONS[daemon][0]]
    while todo:
        module = todo.pop()
        if module in MODULES and module not in seen:
            seen.add(module)
            todo += imports(MODULES[module])
    return seen


def commands(daemon):
    """Names of the COMMANDS the daemon's modules run."""
    found = set()
    for module in cardshop_modules(daemon):
        with open(MODULES[module]) as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, (ast.List, ast.Tuple)) and node.elts and isinstance(node.elts[0], ast.Constant) \
                    and node.elts[0].value in COMMANDS:
                found.add(node.elts[0].value)
    return found


def daemons_of(package):
    return sorted(os.path.basename(path) for path, owners in shipped().items()
                  if path.startswith("daemons/") and package in owners)


ROLES = sorted(name for name in control() if name != LIBRARY)


def test_every_unit_daemon_and_sample_config_is_shipped_by_exactly_one_package():
    owners = shipped()
    tracked = [os.path.relpath(os.path.join(folder, name), REPO)
               for top in ("systemd", "daemons", "etc") for folder, _, names in os.walk(os.path.join(REPO, top))
               for name in names]
    wrong = {path: owners.get(path, []) for path in tracked if len(owners.get(path, [])) != 1}
    assert not wrong, f"shipped by no package or by several: {wrong}"


def test_every_daemon_is_known_to_the_layers_test():
    assert set(os.listdir(os.path.join(REPO, "daemons"))) == set(DAEMONS)


def test_every_module_a_daemon_imports_has_a_known_debian_package():
    unknown = {daemon: sorted(needs(daemon) - set(PROVIDERS)) for daemon in DAEMONS}
    assert not {daemon: names for daemon, names in unknown.items() if names}, "add them to PROVIDERS"


@pytest.mark.parametrize("package", ROLES + [LIBRARY])
def test_a_package_depends_on_what_its_daemons_import(package):
    depends = control()
    installed = depends[package] | depends[LIBRARY]
    missing = {f"{daemon}: {PROVIDERS[module]} (for {module})" for daemon in daemons_of(package)
               for module in needs(daemon) if module in PROVIDERS and PROVIDERS[module] not in installed}
    assert not missing


@pytest.mark.parametrize("package", ROLES + [LIBRARY])
def test_a_package_depends_on_the_commands_its_daemons_run(package):
    depends = control()
    installed = depends[package] | depends[LIBRARY]
    missing = {f"{daemon}: {COMMANDS[command]} (for {command})" for daemon in daemons_of(package)
               for command in commands(daemon) if COMMANDS[command] and COMMANDS[command] not in installed}
    assert not missing


def test_the_commands_are_found_where_they_are_run():
    # The search above reads list literals: a writer that unpacks with zstd must be seen doing so.
    assert {"zstd", "udevadm"} <= commands("cardshop-writer") | commands("cardshop-writer-helper")
    assert {"sfdisk", "mke2fs", "zstd", "xz"} <= commands("cardshop-creator")
    assert {"pg_createcluster", "pg_ctlcluster"} <= commands("cardshop-database-setup")


@pytest.mark.parametrize("package", ROLES + [LIBRARY])
def test_a_package_pulls_nothing_its_hosts_must_not_load(package):
    """A Debian package is forbidden to a role when every daemon it ships must not load it;
    python3-cardshop goes on every host, so nothing any daemon must not load."""
    depends = control()
    daemons = DAEMONS if package == LIBRARY else daemons_of(package)
    per_daemon = [{PROVIDERS[module] for module in DAEMONS[daemon][1]} for daemon in daemons]
    forbidden = set.union(*per_daemon) if package == LIBRARY else set.intersection(*per_daemon)
    pulled = depends[package] | (depends[LIBRARY] if package != LIBRARY else set())
    assert not pulled & forbidden


@pytest.mark.parametrize("package", ROLES)
def test_a_role_depends_on_no_python_package_its_daemons_do_not_import(package):
    used = {PROVIDERS[module] for daemon in daemons_of(package) for module in needs(daemon)}
    extra = {name for name in control()[package] if name.startswith("python3-") and name != LIBRARY}
    assert extra - used - INDIRECT.get(package, set()) == set()


def test_the_library_depends_only_on_what_every_role_imports():
    # A package of command-line tools only (cardshop-database: a root tool on the standard
    # library) takes the library's few dependencies along, the price of one code base.
    daemon_roles = [role for role in ROLES if set(daemons_of(role)) - TOOLS]
    per_role = [{PROVIDERS[module] for daemon in daemons_of(role) for module in needs(daemon)}
                for role in daemon_roles]
    assert control()[LIBRARY] - {"python3"} <= set.intersection(*per_role)


def test_the_writer_pulls_no_web_server_nor_database_client():
    depends = control()
    assert not (depends["cardshop-writer"] | depends[LIBRARY]) & {"python3-bottle", "python3-waitress",
                                                                  "python3-pymongo"}


def sysusers(package):
    """The users and groups a package's sysusers.d file makes (`u NAME` makes both)."""
    name = "python3-cardshop.cardshop.sysusers" if package == LIBRARY else f"{package}.sysusers"
    path = os.path.join(DEBIAN, name)
    if not os.path.exists(path):
        return set()
    with open(path) as handle:
        return {line.split()[1] for line in handle if line.split() and line.split()[0] in ("u", "g")}


@pytest.mark.parametrize("package", ROLES)
def test_a_package_makes_the_users_and_groups_its_units_run_as(package):
    wanted = set()
    for path, owners in shipped().items():
        if path.startswith("systemd/") and path.endswith(".service") and package in owners:
            with open(os.path.join(REPO, path)) as handle:
                for line in handle:
                    key, _, value = line.strip().partition("=")
                    if key in ("User", "Group", "SupplementaryGroups"):
                        wanted |= set(value.split())
    assert wanted - sysusers(package) - sysusers(LIBRARY) == set()
    assert sysusers(LIBRARY) == {"cardshop"}  # the configuration's group; never a secret's


def test_every_file_the_package_reads_beside_its_modules_is_packaged():
    """A file under cardshop/ that is not a module ships only when pyproject.toml's package-data names it."""
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as handle:
        package_data = tomllib.load(handle)["tool"]["setuptools"]["package-data"]
    unlisted = []
    for folder, _, files in os.walk(os.path.join(REPO, "cardshop")):
        for name in files:
            path = os.path.relpath(os.path.join(folder, name), REPO)
            if name.endswith((".py", ".pyc")):
                continue
            owners = [(package, pattern) for package, patterns in package_data.items() for pattern in patterns
                      if path.startswith(package.replace(".", os.sep) + os.sep)
                      and fnmatch.fnmatch(os.path.relpath(path, package.replace(".", os.sep)), pattern)]
            if not owners:
                unlisted.append(path)
    assert unlisted == [], f"not in pyproject.toml's package-data: {unlisted}"
