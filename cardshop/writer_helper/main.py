"""cardshop-writer-helper: set up a writer host (run as root by the host's operator).

    scan        removable disks (card readers): identity, card present, size
    identify    slot number -> reader, by inserting a card into each slot in turn
                (or --slot N --device X); writes slots.yaml and the udev rule
                (and, where no udevd applies that rule, makes /dev/cardshop/slot-N itself)
    configure   writer.yaml: scheduler, broker, the host's writer user (checked by logging in)
    register    register the slots of slots.yaml with the scheduler, under the host's writer user
                and this host's name, as an operator or admin (--login NAME; the password from
                --password-file, --password-stdin or asked); slots it no longer has are
                unregistered. The scheduler refuses the heartbeats of unregistered slots
    enable      enable (and start) writer@N for each slot; disable those of slots that went;
                with --login, register the slots first
    disable     unlink (and stop) every writer@N
    forget      --slot N: disable and stop writer@N, then drop slot N from slots.yaml and the
                udev rule, and unregister it (with the host's own writer login); refused while
                the slot writes a card (--force stops it anyway); forgetting a slot slots.yaml
                does not have is an error (a typo must not pass)
    drain       --slot N [--timeout S] [--restart]: the slot takes no new task, finishes its card,
                then writer@N is stopped (restarted); no task can start in between (drain.py)
    resume      --slot N: withdraw a drain that timed out; the slot takes tasks again
    check       log into the scheduler (API), the broker (AMQPS, the host's own queue) and the
                warehouse (FTPS) with the host's own credentials; ✔/✘ each with the reason
                (--json for machines); exit 1 when any failed
    network     --interface IF (--dhcp | --static ADDR/PREFIX [--gateway IP]) [--dns IP,IP]: the
                host's address through a systemd-networkd file; applied, then the checks of `check`,
                then put back by itself unless confirmed within --confirm-timeout (120 s) by typing
                yes or running `network --confirm` (as `netplan try` does); exit 0 kept, 1 rolled back
    status      per slot: reader, card, size, unit state and what it is doing (--json: the
                slots' own state files, for machines); --watch: one line per slot (state, order,
                card, %, MB/s, ETA) kept up to date until Ctrl-C (which ends it with 0)

Exit codes: 0 done, 1 failed (message printed), 2 bad usage or answers (or no such slot),
3 the scheduler refused the login (or it is not a writer's for configure, an operator's or admin's
for register), 4 the scheduler cannot be reached, 75 the slot is writing a card (try again once it
is done; after a drain's --timeout, the slot keeps draining), 78 an existing file (slots.yaml,
writer.yaml) is invalid.
"""

import argparse
import getpass
import json
import os
import signal
import subprocess
import sys

import yaml

from cardshop.config.load import ConfigError, load_config
from cardshop.config.writer import DEFAULT_RUNTIME_DIR
from cardshop.config.writer import SCHEMA as WRITER_SCHEMA
from cardshop.pipeline import slot_state
from cardshop.writer_helper import configure as configuring
from cardshop.writer_helper import drain as draining
from cardshop.writer_helper import network as networking
from cardshop.writer_helper import checks, links, readers, registration, slots, udev_rule, units
from cardshop.writer_helper import watch as watching
from cardshop.writer_helper.files import FilesError

EX_FAILURE, EX_USAGE, EX_AUTH, EX_UNREACHABLE, EX_TEMPFAIL, EX_CONFIG = 1, 2, 3, 4, 75, 78
REGISTRATION_CODES = {"login": EX_AUTH, "unreachable": EX_UNREACHABLE, "refused": EX_FAILURE, "missing": EX_FAILURE,
                      "config": EX_CONFIG}
PROG = "cardshop-writer-helper"
FORGET_WAIT = 5  # seconds forget gives a slot to say it is idle (it drains: a busy one refuses at once)


class HelperError(Exception):
    def __init__(self, message, code=EX_FAILURE):
        super().__init__(message)
        self.code = code


class Paths:
    def __init__(self, args):
        self.config_dir = args.config_dir
        self.writer = os.path.join(args.config_dir, "writer.yaml")
        self.slots = os.path.join(args.config_dir, "slots.yaml")
        self.secret = os.path.join(args.config_dir, "secrets", "writer.password")
        self.rule = os.path.join(args.rules_dir, os.path.basename(udev_rule.DEFAULT_PATH))
        self.rules_dir = args.rules_dir
        self.wants_dir = args.systemd_dir
        self.unit_file = args.unit_file
        self.dev_dir = args.dev_dir
        self.group = args.device_group
        self._run_dir = args.run_dir

    @property
    def run_dir(self):
        """Where the slots publish their state: --run-dir, else writer.yaml's writer.runtime_dir."""
        if self._run_dir is None:
            self._run_dir = DEFAULT_RUNTIME_DIR
            if os.path.exists(self.writer):
                try:
                    self._run_dir = load_config(WRITER_SCHEMA, self.writer)["writer"]["runtime_dir"]
                except ConfigError as exc:
                    raise HelperError(f"{self.writer} is invalid: {exc}", EX_CONFIG) from None
        return self._run_dir


def _read_slots(path):
    try:
        return slots.read(path)
    except slots.SlotsError as exc:
        raise HelperError(str(exc), EX_CONFIG) from None


def _table(rows, columns):
    widths = [max(len(title), *(len(str(row[key])) for row in rows)) for title, key in columns]
    lines = ["  ".join(title.ljust(width) for (title, _), width in zip(columns, widths))]
    for row in rows:
        lines.append("  ".join(str(row[key]).ljust(width) for (_, key), width in zip(columns, widths)))
    return "\n".join(line.rstrip() for line in lines)


def _size(size):
    return f"{size / 1e9:.1f} GB" if size >= 1e8 else f"{size / 1e6:.0f} MB" if size else "-"


# -- commands -----------------------------------------------------------------

def cmd_scan(paths, args):
    rows = readers.scan(with_loop=args.loop)
    if not rows:
        print("no removable disks" + ("" if args.loop else " (--loop lists loop devices too)"))
        return
    for row in rows:
        row["size"] = _size(row["size"])
    print(_table(rows, [("DEVICE", "device"), ("ID_PATH", "id_path"), ("VENDOR", "vendor"),
                        ("MODEL", "model"), ("CARD", "card"), ("SIZE", "size")]))


def _save_slots(paths, mapping, dropped=()):
    """Write slots.yaml and the rule for `mapping`; the readers of `dropped` entries lose their links."""
    slots.write(paths.slots, mapping)
    udev_rule.write(paths.rule, mapping, paths.group)
    print(f"wrote {paths.slots} and {paths.rule}")
    if _udev_applies(paths):
        subprocess.run(["udevadm", "control", "--reload"], check=False)
        for item in [*mapping, *dropped]:  # only the slots' readers: their links change now, not at the next card
            matches = [f"--property-match={key}={value}" for key, value in item["match"].items()]
            subprocess.run(["udevadm", "trigger", "--action=change", "--subsystem-match=block", *matches],
                           check=False)
    else:
        _link_slots(paths, mapping)


def _udev_applies(paths):
    """udevd runs and reads the folder the rule went to: it makes the slots' links."""
    return (paths.rules_dir == os.path.dirname(udev_rule.DEFAULT_PATH) and
            paths.dev_dir == "/dev" and _udevd_runs())


def _link_slots(paths, mapping):
    """What the udev rule would do, done here (no udevd applies it: a container, or other folders)."""
    try:
        made = links.make(mapping, paths.dev_dir, paths.group)
    except links.LinksError as exc:
        raise HelperError(str(exc)) from None
    for _, link, node, _ in made:
        print(f"linked {link} -> {node} (group {paths.group}, mode 0660): no udevd applies the rule here")
    return [number for number, _, _, fresh in made if fresh]


def _udevd_runs():
    try:
        return subprocess.run(["udevadm", "control", "--ping"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def cmd_identify(paths, args):
    current = _read_slots(paths.slots)
    if args.slot is not None or args.device is not None:
        if args.slot is None or args.device is None:
            raise HelperError("--slot and --device go together", EX_USAGE)
        new = slots.entry(args.slot, readers.identify(args.device), loop_direct=False)
        _save_slots(paths, slots.merge(current, new))
        print(f"slot {args.slot}: {args.device} ({new.get('label', '')}) -> {new['device']}")
        return
    if not 1 <= args.first <= slots.MAX_SLOT:
        raise HelperError(f"--first {args.first}: slot numbers go from 1 to {slots.MAX_SLOT}", EX_USAGE)
    only = [path for path in (args.only or "").split(",") if path]
    watch = readers.CardWatch(only=only, with_loop=args.loop)
    mapping = [item for item in current if item["slot"] < args.first]
    taken = {}
    number = args.first
    print("Remove every card from the readers to identify, then follow the prompts.", flush=True)
    while number <= slots.MAX_SLOT:
        print(f"insert a card into the slot you want to call {number} (press Enter when every slot is done)",
              flush=True)
        identity = watch.wait(stop_fd=sys.stdin.fileno(), timeout=args.timeout)
        if identity is None:
            break
        if identity.device in taken:
            print(f"{identity.device} is slot {taken[identity.device]} already; use another reader", flush=True)
            continue
        new = slots.entry(number, identity, loop_direct=False)
        mapping = slots.merge(mapping, new)
        taken[identity.device] = number
        print(f"slot {number}: {identity.device} ({identity.label}) -> {new['device']}", flush=True)
        number += 1
    if not taken:
        raise HelperError("no slot identified; nothing written")
    _save_slots(paths, mapping)


def _ask(prompt, default=None):
    suffix = f" [{default}]" if default else ""
    answer = input(f"{prompt}{suffix}: ").strip()
    return answer or default


def _answers(paths, args):
    if args.from_file:
        try:
            with open(args.from_file, encoding="utf-8") as handle:
                answers = yaml.safe_load(handle)
        except OSError as exc:
            raise HelperError(f"cannot read {args.from_file}: {exc.strerror}", EX_USAGE) from None
        except yaml.YAMLError as exc:
            raise HelperError(f"{args.from_file} is not valid YAML: {exc}", EX_USAGE) from None
        if not isinstance(answers, dict):
            raise HelperError(f"{args.from_file} must hold a mapping of keys", EX_USAGE)
        return answers
    if not sys.stdin.isatty():
        raise HelperError("no terminal to ask the questions: use --from FILE", EX_USAGE)
    existing = configuring.read_existing(paths.writer)
    answers = {"scheduler": _ask("scheduler API URL", existing.get("scheduler", {}).get("api_url")),
               "broker": _ask("broker URL (amqps://host:port/cardshop)", existing.get("broker", {}).get("url")),
               "username": _ask("this host's writer username", existing.get("broker", {}).get("username")),
               "http_proxy": _ask("HTTP proxy for the scheduler (empty: none)",
                                  existing.get("writer", {}).get("http_proxy")),
               "scheduler_ca_file": _ask("CA bundle for the scheduler's https:// certificate (empty: the "
                                         "system's)", existing.get("scheduler", {}).get("ca_file")),
               "warehouse_ca_file": _ask("CA bundle for an FTPS warehouse (empty: the system's)",
                                         existing.get("warehouse", {}).get("ca_file")),
               "warehouse": _ask("the warehouse `check` logs into (ftps://host:port/; empty: none)",
                                 existing.get("warehouse", {}).get("url")),
               "password": getpass.getpass("its password (not shown): ")}
    return {key: value for key, value in answers.items() if value}


def cmd_configure(paths, args):
    answers = _answers(paths, args)
    try:
        configuring.check_answers(answers)
        secret = configuring.password(answers)
        config = configuring.document(answers, paths.secret, paths.slots,
                                      configuring.read_existing(paths.writer))
        configuring.check_login(answers["scheduler"], answers["username"], secret, answers.get("http_proxy"),
                                answers.get("scheduler_ca_file"))
    except configuring.ConfigureError as exc:
        code = {"login": EX_AUTH, "unreachable": EX_UNREACHABLE}.get(exc.kind, EX_USAGE)
        raise HelperError(str(exc), code) from None
    configuring.write(paths.writer, config, paths.secret, secret)
    print(f"{answers['username']} logged into {answers['scheduler']} as a writer; "
          f"wrote {paths.writer} and {paths.secret} (0600)")


def _use_systemctl(args):
    return units.booted() and not args.no_systemctl


def cmd_enable(paths, args):
    mapping = _read_slots(paths.slots)
    if not mapping:
        raise HelperError(f"no slots in {paths.slots}; run `{PROG} identify` first")
    if args.login:  # first: the slots' first heartbeats are filed, and a refused login changes nothing here
        _register(paths, args, mapping)
    relinked = [] if _udev_applies(paths) else _link_slots(paths, mapping)  # a container's /dev is new at each boot
    if relinked and _use_systemctl(args):
        # A slot started without its link has neither the node nor the device policy: restart it.
        units.restart_running(relinked)
    enabled, removed = units.enable([item["slot"] for item in mapping], paths.wants_dir, paths.unit_file,
                                    _use_systemctl(args))
    print("enabled: " + ", ".join(units.instance(number) for number in enabled))
    if _use_systemctl(args):
        print(f"starting them; `{PROG} status` shows each slot")
    if removed:
        print("removed (no such slot any more): " + ", ".join(units.instance(number) for number in removed))
    if not args.login:
        print(f"the scheduler files the heartbeats of registered slots only: `{PROG} register --login NAME` "
              "registers these (an operator's or admin's login)")


def cmd_disable(paths, args):
    removed = units.disable(paths.wants_dir, _use_systemctl(args))
    print("disabled: " + (", ".join(units.instance(number) for number in removed) or "nothing was enabled"))


def cmd_forget(paths, args):
    current = _read_slots(paths.slots)
    kept = slots.without(current, args.slot, paths.slots)
    use_systemctl = _use_systemctl(args)
    if use_systemctl and args.force:
        print(f"--force: stopping {units.instance(args.slot)} whatever it does")
    elif use_systemctl:
        # Drained first: a slot that says it is idle takes no task before `disable --now` stops it.
        asked_before = slot_state.drain_requested(paths.run_dir, args.slot)
        outcome, state = draining.wait_drained(draining.SystemdSlot(args.slot), paths.run_dir, FORGET_WAIT)
        if outcome == "busy":
            if not asked_before:
                slot_state.withdraw_drain(paths.run_dir, args.slot)  # nothing changed: it takes tasks again
            raise HelperError(f"slot {args.slot} is not idle ({draining.describe(state)}); nothing changed. "
                              f"`{PROG} drain --slot {args.slot}` stops it once its card is done, then forget "
                              "it; or --force to stop it now (the card is left half-written; its task goes "
                              "back to the queue for another slot)", EX_TEMPFAIL)
    # The unit goes before its slot: a running writer@N never lacks its entry or its link.
    was_linked = units.forget(args.slot, paths.wants_dir, use_systemctl)
    _save_slots(paths, kept, [item for item in current if item["slot"] == args.slot])
    done = "disabled and stopped" if use_systemctl else "unlinked" if was_linked else "was not linked"
    print(f"forgot slot {args.slot}: {units.instance(args.slot)} {done}")
    _unregister(paths, args.slot)


def _unregister(paths, number):
    """The scheduler forgets the slot too, asked with the host's own writer login (writer.yaml)."""
    if not os.path.exists(paths.writer):
        print(f"no {paths.writer}: the scheduler was not told (`{PROG} register` on a configured host "
              "unregisters the slots slots.yaml no longer has)")
        return
    try:
        name, had = registration.unregister_own(registration.writer_config(paths.writer), number)
    except registration.RegistrationError as exc:
        raise HelperError(f"slot {number} is forgotten here, but still registered with the scheduler: {exc}; "
                          f"`{PROG} register` unregisters it once it can", REGISTRATION_CODES[exc.kind]) from None
    print(f"unregistered slot {number} of {name}" if had else f"slot {number} of {name} was not registered")


def _operator_secret(args):
    """The operator's password: from --password-file, --password-stdin, or asked (never echoed)."""
    if args.password_file:
        try:
            with open(args.password_file, encoding="utf-8") as handle:
                secret = handle.readline().strip()
        except OSError as exc:
            raise HelperError(f"cannot read --password-file {args.password_file}: {exc.strerror}", EX_USAGE) from None
    elif args.password_stdin:
        secret = sys.stdin.readline().strip()
    elif sys.stdin.isatty():
        secret = getpass.getpass(f"password of {args.login} (not shown): ")
    else:
        raise HelperError(f"no terminal to ask the password of {args.login}: use --password-file FILE or "
                          "--password-stdin", EX_USAGE)
    if not secret:
        raise HelperError(f"the password of {args.login} is empty", EX_USAGE)
    return secret


def _register(paths, args, mapping):
    """Register `mapping` as the operator of --login; prints what was done (--json: as JSON)."""
    try:
        config = registration.writer_config(paths.writer)
        result = registration.register_host(config, args.login, _operator_secret(args), mapping)
    except registration.RegistrationError as exc:
        raise HelperError(str(exc), REGISTRATION_CODES[exc.kind]) from None
    if getattr(args, "json", False):
        print(json.dumps(result))
        return
    name, numbers = f"{result['writer']}@{result['host']}", ", ".join(map(str, result["slots"])) or "none"
    if not result["changed"]:
        print(f"slots {numbers} of {name} are registered with the scheduler already; nothing changed")
        return
    print(f"registered slots {numbers} of {name} with the scheduler"
          + (f"; unregistered {', '.join(map(str, result['unregistered']))}" if result["unregistered"] else ""))


def cmd_register(paths, args):
    mapping = _read_slots(paths.slots)
    if not args.login:
        if not sys.stdin.isatty():
            raise HelperError("--login NAME is needed: the login of a manager or an admin of the scheduler",
                              EX_USAGE)
        args.login = _ask("login of a manager or admin of the scheduler")
    _register(paths, args, mapping)


def _slot_facts(paths, mapping):
    """Per slot of slots.yaml: its reader and card, its unit, and the state it publishes (None when it is
    not running, or publishes none yet)."""
    enabled = units.linked(paths.wants_dir)
    systemd = units.booted()
    facts = []
    for item in mapping:
        number = item["slot"]
        device = links.in_dev(item["device"], paths.dev_dir)
        present = os.path.exists(device)
        size = readers.card_size(os.path.basename(os.path.realpath(device))) if present else 0
        active = units.active_state(number) if systemd else None
        slot = draining.SystemdSlot(number) if systemd else draining.ProcessSlot(number, paths.run_dir)
        running = active in units.RUNNING if systemd else slot.running()
        facts.append({"slot": number, "device": item["device"], "reader": present, "card_size": size,
                      "enabled": number in enabled, "unit": active, "running": running,
                      "state": slot_state.read(paths.run_dir, number) if running else None})
    return facts


def _read_facts(paths, mapping):
    try:
        return _slot_facts(paths, mapping)
    except slot_state.SlotStateError as exc:
        raise HelperError(f"cannot read the slots' state: {exc}") from None


def cmd_status(paths, args):
    mapping = _read_slots(paths.slots)
    if not mapping:
        raise HelperError(f"no slots in {paths.slots}; run `{PROG} identify` first")
    if args.watch:
        if not args.interval > 0:
            raise HelperError(f"--interval {args.interval:g}: must be a number of seconds above 0", EX_USAGE)
        watching.watch(lambda: _read_facts(paths, mapping), sys.stdout, args.interval, args.json,
                       sys.stdout.isatty())
        return
    facts = _read_facts(paths, mapping)
    if args.json:
        print(json.dumps({"slots": facts}, sort_keys=True))
        return
    rows = []
    for fact in facts:
        # What it is doing: systemd's STATUS line, written for people (read here only to be shown).
        doing = units.status_text(fact["slot"]) if fact["unit"] is not None else ""
        rows.append({"slot": fact["slot"], "device": fact["device"], "reader": "yes" if fact["reader"] else "absent",
                     "card": "yes" if fact["card_size"] else "no", "size": _size(fact["card_size"]),
                     "unit": ("enabled, " if fact["enabled"] else "disabled, ") + (fact["unit"] or "no systemd"),
                     "doing": doing or "-"})
    print(_table(rows, [("SLOT", "slot"), ("DEVICE", "device"), ("READER", "reader"), ("CARD", "card"),
                        ("SIZE", "size"), ("UNIT", "unit"), ("DOING", "doing")]))
    print("Tasks and progress of every slot, as the scheduler knows them: GET /workers (or the manager).")


def _host_config(paths):
    """writer.yaml as writer@N loads it (its proxy in use from now on)."""
    try:
        return registration.writer_config(paths.writer)
    except registration.RegistrationError as exc:
        raise HelperError(str(exc), REGISTRATION_CODES[exc.kind]) from None


def _run_checks(config, warehouse_url):
    try:
        return checks.run(config, warehouse_url)
    except ConfigError as exc:  # the password file: writer@N would not start either
        raise HelperError(f"writer.yaml: {exc}", EX_CONFIG) from None


def cmd_check(paths, args):
    results = _run_checks(_host_config(paths), args.warehouse)
    ok = all(result["ok"] for result in results)
    if args.json:
        print(json.dumps({"ok": ok, "checks": results}, sort_keys=True))
    else:
        print("\n".join(checks.lines(results)))
    return 0 if ok else EX_FAILURE


def cmd_network(paths, args):
    if args.confirm:
        if not networking.confirm(paths.run_dir):
            raise HelperError("no network change waits for its confirmation")
        print("confirmed: the new network configuration is kept")
        return 0
    if not args.confirm_timeout > 0:
        raise HelperError(f"--confirm-timeout {args.confirm_timeout:g}: must be a number of seconds above 0",
                          EX_USAGE)
    try:
        wanted = networking.settings(args.interface, args.dhcp, args.static, args.gateway, args.dns)
    except networking.NetworkError as exc:
        raise HelperError(str(exc), EX_USAGE) from None
    say = _teller(sys.stderr if args.json else sys.stdout)

    def check():
        if not os.path.exists(paths.writer):
            say(f"no {paths.writer} yet: nothing to check (`{PROG} check` once it is configured)")
            return None
        results = _run_checks(_host_config(paths), args.warehouse)
        for line in checks.lines(results):
            say(line)
        return results

    answers = sys.stdin.fileno() if sys.stdin.isatty() else None
    # The operator's SSH session may die with the old address: the try goes on to its rollback regardless.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        outcome = networking.apply(wanted, args.network_dir, paths.run_dir, args.confirm_timeout, check, say,
                                   answers)
    except networking.NetworkError as exc:
        raise HelperError(str(exc), EX_TEMPFAIL if exc.kind == "pending" else EX_FAILURE) from None
    if args.json:
        print(json.dumps({**outcome, "settings": wanted}, sort_keys=True))
    else:
        say("kept: the new configuration stays" if outcome["result"] == "kept"
            else f"rolled back ({outcome['reason']}): the previous configuration is back")
    return 0 if outcome["result"] == "kept" else EX_FAILURE


def _interrupt(*_):
    raise KeyboardInterrupt


def _teller(stream):
    """print() to `stream` that survives the terminal going away (the network change may cut the session)."""
    def say(text):
        try:
            print(text, file=stream, flush=True)
        except OSError:
            pass
    return say


def cmd_drain(paths, args):
    _known_slot(paths, args.slot)
    use_systemctl = _use_systemctl(args)
    slot = draining.SystemdSlot(args.slot) if use_systemctl else draining.ProcessSlot(args.slot, paths.run_dir)
    if args.restart and not use_systemctl and slot.running():
        raise HelperError("--restart needs systemd: without it nothing starts a slot again; nothing changed",
                          EX_USAGE)
    try:
        result = draining.drain(slot, paths.run_dir, args.timeout, args.restart)
    except KeyboardInterrupt:
        raise HelperError(f"interrupted: slot {args.slot} keeps draining (it takes no new task); "
                          f"`{PROG} resume --slot {args.slot}` lets it take tasks again", 130) from None
    if args.json:
        print(json.dumps(result, sort_keys=True))
    if result["result"] == "busy":
        raise HelperError(f"slot {args.slot} is not idle after {args.timeout:g} s "
                          f"({draining.describe(result['state'])}): it goes on with its card and takes no new "
                          f"task; `{PROG} drain --slot {args.slot}` again stops it once idle, `{PROG} resume "
                          f"--slot {args.slot}` lets it take tasks again", EX_TEMPFAIL)
    if not args.json:
        print({"stopped": f"slot {args.slot}: {units.instance(args.slot)} stopped once idle",
               "restarted": f"slot {args.slot}: {units.instance(args.slot)} restarted once idle",
               "not_running": f"slot {args.slot} does not run: nothing to stop",
               "not_enabled": f"slot {args.slot}: {units.instance(args.slot)} is neither running nor enabled: "
                              "nothing to restart"}[result["result"]])


def cmd_resume(paths, args):
    _known_slot(paths, args.slot)
    if slot_state.withdraw_drain(paths.run_dir, args.slot):
        print(f"slot {args.slot}: drain withdrawn; it takes tasks again")
    else:
        print(f"slot {args.slot} was not draining")


def _known_slot(paths, number):
    """Slot `number` is in slots.yaml (a typo must not pass); SlotsError, a usage error, when not."""
    slots.without(_read_slots(paths.slots), number, paths.slots)


# -- arguments ----------------------------------------------------------------

def parser():
    top = argparse.ArgumentParser(prog=PROG, description="Set up a Cardshop writer host (as root).")
    top.add_argument("--config-dir", default="/etc/cardshop", help="writer.yaml, slots.yaml, secrets/")
    top.add_argument("--rules-dir", default=os.path.dirname(udev_rule.DEFAULT_PATH),
                     help="where the udev rule goes")
    top.add_argument("--systemd-dir", default=units.DEFAULT_WANTS_DIR, help="where writer@N links go")
    top.add_argument("--unit-file", default=units.DEFAULT_UNIT_FILE, help="the writer@.service the links name")
    top.add_argument("--dev-dir", default="/dev", help="the /dev the slots' links go to and are looked up in")
    top.add_argument("--device-group", default=udev_rule.GROUP, help="the group the slots' device nodes get")
    top.add_argument("--run-dir", help="where the slots publish their state (default: writer.yaml's "
                     f"writer.runtime_dir, else {DEFAULT_RUNTIME_DIR})")
    sub = top.add_subparsers(dest="command", required=True)
    scan = sub.add_parser("scan", help="list card readers, card present, size")
    scan.add_argument("--loop", action="store_true", help="list loop devices too (development readers)")
    identify = sub.add_parser("identify", help="map slot numbers to readers; write slots.yaml and the udev rule")
    identify.add_argument("--slot", type=int, help="the slot number to give --device (no prompts)")
    identify.add_argument("--device", help="the reader's disk, e.g. /dev/sdb or /dev/loop3")
    identify.add_argument("--first", type=int, default=1, help="the number of the first slot to identify")
    identify.add_argument("--only", help="consider only these readers (comma-separated devices)")
    identify.add_argument("--loop", action="store_true", help="consider loop devices too")
    identify.add_argument("--timeout", type=float, help="give up after this many seconds without a card")
    configure = sub.add_parser("configure", help="write writer.yaml (credentials checked with the scheduler)")
    configure.add_argument("--from", dest="from_file", help="read the answers from this YAML file")
    register = sub.add_parser("register", help="register the slots with the scheduler (an operator's login)")
    register.add_argument("--json", action="store_true", help="say what was done as one JSON object")
    for name, text in (("enable", "link and start writer@N for every slot"),
                       ("disable", "unlink and stop every writer@N")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--no-systemctl", action="store_true", help="only the links, even under systemd")
    for command in (register, sub.choices["enable"]):
        command.add_argument("--login", help="a manager's or admin's login on the scheduler"
                             + (" (asked when absent)" if command is register else "; registers the slots first"))
        secret = command.add_mutually_exclusive_group()
        secret.add_argument("--password-file", help="read its password from the first line of this file")
        secret.add_argument("--password-stdin", action="store_true", help="read its password from standard input")
    forget = sub.add_parser("forget", help="stop and disable writer@N, drop slot N from slots.yaml and the rule")
    forget.add_argument("--slot", type=int, required=True, help="the slot number to forget")
    forget.add_argument("--force", action="store_true",
                        help="even while the slot writes a card (its task goes to another slot)")
    forget.add_argument("--no-systemctl", action="store_true", help="only the links, even under systemd")
    drain = sub.add_parser("drain", help="stop writer@N once its slot is idle; it takes no new task meanwhile")
    drain.add_argument("--slot", type=int, required=True, help="the slot number to drain")
    drain.add_argument("--timeout", type=float,
                       help="give up after this many seconds (exit 75: the slot keeps its card and takes no new "
                            "task); no limit when absent")
    drain.add_argument("--restart", action="store_true", help="start it again once stopped (needs systemd)")
    drain.add_argument("--json", action="store_true", help="say what was done as one JSON object")
    drain.add_argument("--no-systemctl", action="store_true",
                       help="the slots run without systemd: stop the slot's own process")
    resume = sub.add_parser("resume", help="withdraw a drain: slot N takes tasks again")
    resume.add_argument("--slot", type=int, required=True, help="the slot number")
    status = sub.add_parser("status", help="per slot: reader, card, unit state")
    status.add_argument("--json", action="store_true", help="every slot's state as one JSON object (with "
                        "--watch: one per change, a line each)")
    status.add_argument("--watch", action="store_true", help="one line per slot (state, order, card, progress), "
                        "kept up to date until Ctrl-C")
    status.add_argument("--interval", type=float, default=1.0, help="seconds between looks with --watch (1)")
    check = sub.add_parser("check", help="log into the scheduler, the broker and the warehouse with this host's "
                           "credentials; ✔/✘ each")
    check.add_argument("--warehouse", help="the warehouse's URL (ftps://host:port/) instead of writer.yaml's "
                       "warehouse.url")
    check.add_argument("--json", action="store_true", help="the results as one JSON object")
    network = sub.add_parser("network", help="set the host's address (DHCP or static) with systemd-networkd; "
                             "rolled back unless confirmed")
    network.add_argument("--interface", help="the interface to configure, e.g. enp1s0")
    way = network.add_mutually_exclusive_group()
    way.add_argument("--dhcp", action="store_true", help="the address from DHCP")
    way.add_argument("--static", metavar="ADDRESS/PREFIX", help="a fixed address, e.g. 192.0.2.10/24")
    network.add_argument("--gateway", help="the default gateway (with --static)")
    network.add_argument("--dns", help="DNS servers, comma-separated")
    network.add_argument("--confirm-timeout", type=float, default=120.0,
                         help="seconds to confirm before the previous configuration comes back (120)")
    network.add_argument("--confirm", action="store_true",
                         help="keep the change another `network` applied and waits to have confirmed")
    network.add_argument("--network-dir", default=networking.DEFAULT_DIR, help="where networkd's files are")
    network.add_argument("--warehouse", help="the warehouse's URL for the checks (as for check)")
    network.add_argument("--json", action="store_true", help="the outcome as one JSON object")
    return top


COMMANDS = {"scan": cmd_scan, "identify": cmd_identify, "configure": cmd_configure, "register": cmd_register,
            "enable": cmd_enable, "disable": cmd_disable, "forget": cmd_forget, "status": cmd_status,
            "drain": cmd_drain, "resume": cmd_resume, "check": cmd_check,
            "network": cmd_network}


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        code = COMMANDS[args.command](Paths(args), args)
    except HelperError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exc.code
    except slots.SlotsError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EX_USAGE
    except (readers.ReaderError, units.UnitError, FilesError, draining.DrainError, slot_state.SlotStateError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EX_FAILURE
    except configuring.ConfigError as exc:  # what the writer would say of the written file
        print(f"{PROG}: the written writer.yaml does not load: {exc}", file=sys.stderr)
        return EX_CONFIG
    except OSError as exc:
        print(f"{PROG}: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return EX_FAILURE
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted; nothing more written", file=sys.stderr)
        return 130
    return code or 0
