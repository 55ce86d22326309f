"""An operator's day with the `cardshop` CLI against the local stack: keep a recipe, place an order from a
YAML file, watch it until its image is ready, export it; bad input is refused with the field named."""

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest
import yaml

from devstack import samples
from devstack.servers import REPO
from tests.conftest import order_body

TO = "Ada Lovelace,ada@example.org,1 Main St, Springfield"


@pytest.fixture(scope="module")
def creator(pipeline):
    """A creator for this module only: other modules take the create queue's messages themselves."""
    creator = pipeline.start_creator()
    yield creator
    creator.stop()


@pytest.fixture
def cli(tmp_path, pipeline):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    password_file = tmp_path / "admin.password"
    password_file.write_text(pipeline.scheduler.admin["password"])
    # The settings file gives the API and the login, as an operator's would.
    (config_dir / "cli.yaml").write_text(yaml.safe_dump({
        "api_url": pipeline.scheduler.url, "username": pipeline.scheduler.admin["username"],
        "password_file": str(password_file)}))

    def run(*args, timeout=60, terminal=False):
        command = [sys.executable, os.path.join(REPO, "daemons", "cardshop"), "--config-dir", str(config_dir)]
        if terminal:
            return on_a_terminal(command + list(args), timeout)
        return subprocess.run(command + list(args), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    assert run("login").returncode == 0
    return run


def on_a_terminal(command, timeout):
    """Run `command` with its standard output on a terminal of 200 columns (a pty); what it wrote there."""
    main, other = pty.openpty()
    process = subprocess.Popen(command, stdout=other, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               env={**os.environ, "COLUMNS": "200"})
    os.close(other)
    output, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([main], [], [], 0.5)[0]:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # EIO: the command ended and the terminal closed
                    break
                if not chunk:
                    break
                output += chunk
        process.wait(max(1, deadline - time.monotonic()))
    finally:
        process.kill()
        os.close(main)
    return subprocess.CompletedProcess(command, process.returncode, output.decode(errors="replace"),
                                       process.stderr.read().decode())


@pytest.fixture(scope="module")
def recipe(pipeline):
    root = pipeline.content.root
    base = samples.make_base_image(root)
    return {"base": {"source": f"{pipeline.content.url}/base.img.xz", "checksum": samples.checksum(base)},
            "output": {"size": "256M"},
            "files": [{"to": "/data/message.txt", "content": "hello from the cli"}]}


def test_an_order_placed_from_a_yaml_recipe_is_watched_until_ready_and_exported(cli, creator, recipe, tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    placed = cli("--json", "order", "place", str(path), "--card", "4", "--download", "--to", TO)
    assert placed.returncode == 0, placed.stderr
    order = json.loads(placed.stdout)
    assert order["recipient"]["address"] == "1 Main St, Springfield"
    watched = cli("order", "watch", order["_id"], "--every", "0.5", "--timeout", "170", timeout=180)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert f"order {order['_id']}: ready" in watched.stdout
    exported = tmp_path / "again.yaml"
    assert cli("order", "export", order["_id"], "-o", str(exported)).returncode == 0
    assert yaml.safe_load(exported.read_text())["recipe"] == recipe
    again = cli("--json", "order", "place", str(exported), "--card", "4", "--download", "--to", TO)
    assert again.returncode == 0, again.stderr
    assert cli("order", "cancel", json.loads(again.stdout)["_id"]).returncode == 0


def test_a_recipe_is_kept_listed_exported_and_ordered_from(cli, recipe, tmp_path):
    path = tmp_path / "kept.yaml"
    path.write_text(yaml.safe_dump({"name": "hello card", "description": "for the cli test", "recipe": recipe}))
    kept = cli("--json", "recipe", "import", str(path))
    assert kept.returncode == 0, kept.stderr
    recipe_id = json.loads(kept.stdout)["_id"]
    listed = cli("recipe", "list")
    assert recipe_id in listed.stdout and "hello card" in listed.stdout
    exported = cli("recipe", "export", recipe_id)
    assert yaml.safe_load(exported.stdout) == {"name": "hello card", "description": "for the cli test",
                                               "recipe": recipe}
    placed = cli("--json", "order", "place", "--kept", recipe_id, "--card", "4", "--quantity", "2", "--to", TO)
    assert placed.returncode == 0, placed.stderr
    order = json.loads(placed.stdout)
    assert order["recipe"] == recipe and order["quantity"] == 2
    assert cli("order", "cancel", order["_id"], "--reason", "a test").returncode == 0


def test_a_bad_recipe_is_refused_with_the_field_named_and_exit_2(cli, recipe, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**recipe, "output": {"size": "a lot"}}))
    refused = cli("order", "place", str(path), "--card", "4", "--to", TO)
    assert refused.returncode == 2 and "output" in refused.stderr and "Traceback" not in refused.stderr, refused
    path.write_text("base: [unclosed\n")
    broken = cli("order", "place", str(path), "--card", "4", "--to", TO)
    assert broken.returncode == 2 and "not valid YAML (line" in broken.stderr, broken
    nobody = cli("order", "place", str(path), "--card", "4", "--to", "just a name")
    assert nobody.returncode == 2 and "--to must be NAME,EMAIL,ADDRESS" in nobody.stderr
    unknown = cli("order", "place", "--auto-image", "never-built", "--card", "4", "--to", TO)
    assert unknown.returncode == 1 and "no auto-image 'never-built'" in unknown.stderr, unknown
    both = cli("order", "place", str(path), "--kept", "x", "--card", "4", "--to", TO)
    assert both.returncode == 2 and "give one of" in both.stderr


def test_an_auto_images_made_image_is_ordered_at_once_and_rebuilt_only_when_asked(cli, creator, recipe, tmp_path,
                                                                                  pipeline_db):
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    built = cli("--json", "order", "place", str(path), "--card", "4", "--download", "--to", TO)
    assert built.returncode == 0, built.stderr
    source_id = json.loads(built.stdout)["_id"]
    watched = cli("--json", "order", "watch", source_id, "--every", "0.5", "--timeout", "170", timeout=180)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    source = json.loads(watched.stdout.splitlines()[-1])
    name = f"cli-wiki-{source['_id'][-6:]}"
    pipeline_db.auto_images.insert_one({"_id": name, "order": source["_id"], "image": source["image"],
                                        "warehouse": source["warehouse"]})
    placed = cli("order", "place", "--auto-image", name, "--card", "4", "--quantity", "2", "--to", TO)
    assert placed.returncode == 0, placed.stderr
    assert (f"of the image of auto-image {name} (order {source['_id']}), already made: no new build, its cards "
            f"go to the writers now") in placed.stdout
    order_id = placed.stdout.split()[2]
    shown = cli("order", "show", order_id)
    assert f"image made by: order {source['_id']} (auto-image {name})" in shown.stdout
    assert " create " not in shown.stdout and shown.stdout.count(" write ") == 2, shown.stdout
    download = cli("--json", "order", "place", "--image-of", source["_id"], "--card", "4", "--download", "--to", TO)
    assert download.returncode == 0, download.stderr
    ready = json.loads(download.stdout)
    assert ready["status"] == "ready" and ready["image"] == source["image"] and ready["tasks"] == []
    rebuilt = cli("--json", "order", "place", "--auto-image", name, "--rebuild", "--card", "4", "--download",
                  "--to", TO)
    assert rebuilt.returncode == 0, rebuilt.stderr
    again = json.loads(rebuilt.stdout)
    assert [task["kind"] for task in again["tasks"]] == ["create"] and again["recipe"] == source["recipe"]
    assert "image_source" not in again
    for placed_id in (order_id, again["_id"]):
        assert cli("order", "cancel", placed_id).returncode == 0
    alone = cli("order", "place", "--image-of", source["_id"], "--rebuild", "--card", "4", "--to", TO)
    assert alone.returncode == 2 and "--rebuild goes with --auto-image" in alone.stderr
    nothing = cli("order", "place", "--image-of", "0" * 24, "--card", "4", "--to", TO)
    assert nothing.returncode == 1 and f"no order {'0' * 24}" in nothing.stderr, nothing


def test_a_url_that_is_not_one_exits_2_without_a_traceback(cli):
    result = cli("--api", "not-a-url", "order", "list")
    assert result.returncode == 2 and "is not an http:// or https:// URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_fleet_lists_hosts_and_slots(cli):
    listed = cli("--json", "fleet")
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout)["items"], list)
    text = cli("fleet")
    assert text.returncode == 0 and text.stdout.startswith("HOST")


def test_order_watch_on_a_terminal_redraws_the_order_and_its_tasks_in_place(cli, pipeline):
    order = pipeline.admin.post("/orders", order_body()).body
    try:
        watched = cli("order", "watch", order["_id"], "--every", "0.3", "--timeout", "3", timeout=30, terminal=True)
    finally:
        pipeline.admin.post(f"/orders/{order['_id']}/cancel", {})
    assert watched.returncode == 1 and "still" in watched.stderr  # not delivered in 3 s
    draws = watched.stdout.split("\x1b[J")
    assert len(draws) >= 4 and draws[0] == ""  # each look draws the block again, from the first
    lines = draws[1].splitlines()
    assert lines[0].startswith(f"order {order['_id']}: ") and "create" in lines[1]
    assert all(draw.endswith(f"\n\x1b[{draw.count(chr(10))}F") for draw in draws[1:-1])  # back over its lines
