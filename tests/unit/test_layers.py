"""Imports point down the layers (read with ast: nothing is imported, nothing runs).

    foundation   states store config client validation systemd cancellable faults serving proxies recipes
        ^
    domain       domain auth image pipeline notify
        ^
    adapters     api monitor beat creator warehouse cli writer writer_helper manager admin database_setup
        ^
    runners      scheduler daemon   (and the daemons/ entry points)

A package may import its own modules and any package of a lower layer.
Inside the foundation and the domain, packages are ordered and may import
only those listed before them; adapters never import each other.
"""

import ast
import os

import pytest

from tests.unit.config.test_load import REPO

FOUNDATION = ["validation", "systemd", "cancellable", "faults", "serving", "proxies", "recipes", "states", "config",
              "client", "store"]
DOMAIN = ["image", "auth", "pipeline", "domain", "notify"]
ADAPTERS = ["api", "monitor", "beat", "creator", "warehouse", "cli", "writer", "writer_helper", "manager", "admin",
            "database_setup"]
RUNNERS = ["scheduler", "daemon"]
LAYERS = [FOUNDATION, DOMAIN, ADAPTERS, RUNNERS]
ORDERED = {*FOUNDATION, *DOMAIN}  # within these layers, earlier packages come first

# The module each daemon runs, and what its host must not load.
DAEMONS = {
    "cardshop-scheduler": ("cardshop.scheduler.run", set()),
    "cardshop-monitor": ("cardshop.monitor.run", {"bottle", "waitress"}),
    "cardshop-beat": ("cardshop.beat.run", {"bottle", "waitress"}),
    "cardshop-warehouse": ("cardshop.warehouse.run", {"bottle", "waitress"}),
    "cardshop-creator": ("cardshop.creator.run", {"bottle", "waitress", "pymongo", "bson"}),
    "cardshop-writer": ("cardshop.writer.run", {"bottle", "waitress", "pymongo", "bson"}),
    "cardshop": ("cardshop.cli.main", {"bottle", "waitress", "pymongo", "bson"}),
    "cardshop-writer-helper": ("cardshop.writer_helper.main", {"bottle", "waitress", "pymongo", "bson"}),
    "cardshop-manager": ("cardshop.manager.run", {"pymongo", "bson"}),
    "cardshop-admin": ("cardshop.admin.main", {"bottle", "waitress"}),
    "cardshop-database-setup": ("cardshop.database_setup.main", {"bottle", "waitress", "pymongo", "bson"}),
}
# command-line tools: no config file, so not the daemon runner
TOOLS = {"cardshop", "cardshop-writer-helper", "cardshop-admin", "cardshop-database-setup"}


def _modules():
    """Module name -> file path, for every module of the cardshop package."""
    found = {}
    for folder, _, files in os.walk(os.path.join(REPO, "cardshop")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                module = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
                found[module.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def imports(path):
    """Every module name an import statement in `path` names (function-level imports included)."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names
                      if f"{node.module}.{alias.name}" in MODULES]
    return names


def layer(package):
    for index, members in enumerate(LAYERS):
        if package in members:
            return index, members.index(package)
    raise AssertionError(f"cardshop.{package} is in no layer: add it to tests/unit/test_layers.py")


def allowed(source, target):
    if source == target:
        return True
    (source_layer, source_rank), (target_layer, target_rank) = layer(source), layer(target)
    if target_layer != source_layer:
        return target_layer < source_layer
    return source in ORDERED and target_rank < source_rank


def test_every_cardshop_import_names_a_module_of_this_tree():
    # The editable install would otherwise hide an import of a moved module.
    missing = [f"{module} imports {name}" for module, path in MODULES.items() for name in imports(path)
               if name.startswith("cardshop.") and name not in MODULES]
    assert not missing


def test_imports_point_down_the_layers():
    wrong = []
    for module, path in MODULES.items():
        if module == "cardshop":
            continue
        source = module.split(".")[1]
        for name in imports(path):
            if name.startswith("cardshop.") and not allowed(source, name.split(".")[1]):
                wrong.append(f"{module} -> {name}")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(set(wrong)))


def closure(start):
    """Every module `start` may load: cardshop modules followed, with their parent packages; others by top name."""
    seen, outside, todo = set(), set(), [start]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:end]) for end in range(2, len(parts)) if ".".join(parts[:end]) in MODULES]
        for name in imports(MODULES[module]):
            if name in MODULES:
                todo.append(name)
            elif not name.startswith("cardshop"):
                outside.add(name.split(".")[0])
    return outside


@pytest.mark.parametrize("daemon", sorted(DAEMONS))
def test_a_daemon_loads_only_what_its_host_needs(daemon):
    module, forbidden = DAEMONS[daemon]
    assert not closure(module) & forbidden


def test_the_api_daemon_does_load_its_web_server():
    assert {"bottle", "waitress", "pymongo"} <= closure("cardshop.scheduler.run")


def test_daemon_entry_points_are_thin_and_use_the_runner():
    for name in DAEMONS:
        path = os.path.join(REPO, "daemons", name)
        with open(path) as handle:
            lines = handle.read().splitlines()
        assert len(lines) < 40, name
        cardshop_imports = [name for name in imports(path) if name.startswith("cardshop")]
        assert name in TOOLS or "cardshop.daemon" in cardshop_imports, name


def test_every_daemon_serves_from_its_own_run_module():
    """One entry-point shape: daemons/cardshop-<x> runs `cardshop.<x>.run:serve`."""
    import re
    for daemon in ("beat", "creator", "manager", "monitor", "scheduler", "warehouse", "writer"):
        with open(os.path.join(REPO, "daemons", f"cardshop-{daemon}")) as handle:
            served = re.findall(r'"(cardshop\.[\w.]+:serve)"', handle.read())
        assert served == [f"cardshop.{daemon}.run:serve"], (daemon, served)
