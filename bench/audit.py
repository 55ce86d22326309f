"""The units against Debian 13's systemd: `systemd-analyze verify` clean, `security` exposure within goal.

    python -m bench.audit [--root DIR]      (make audit; as root: it runs systemd-nspawn)

The units and daemons of this tree go into a Debian 13 root filesystem
(packaging/rootfs.sh, cached under var/): the units into a folder of their own,
the daemons at /usr/bin where ExecStart= names them (verify checks they exist).
Inside it, `systemd-analyze verify` runs on every unit (writer@ as writer@1) and
`systemd-analyze security --offline=yes` on each service. Prints unit ->
exposure -> goal, and exits 1 when verify says anything or a goal is missed.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ROOT = os.path.join(REPO, "var", "rootfs", "audit")
STAGE = "opt/cardshop-audit"  # inside the root
NETWORK_GOAL = 3.0
# The writer opens its slot's card reader (DeviceAllow=/dev/cardshop/slot-%i rw,
# bound into its private /dev) and listens to udev (AF_NETLINK).
WRITER_GOAL = 4.0
EXPOSURE = re.compile(r"Overall exposure level for (\S+): ([0-9.]+)")


class AuditError(Exception):
    """The root filesystem or systemd-nspawn could not be used."""


def prepare(root):
    """The Debian 13 root (made once), with this tree's units staged and daemons at /usr/bin."""
    done = subprocess.run(["sh", os.path.join(REPO, "packaging", "rootfs.sh"), root], cwd=REPO)
    if done.returncode != 0:
        raise AuditError(f"packaging/rootfs.sh {root} failed (exit {done.returncode})")
    stage = os.path.join(root, STAGE)
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(stage)
    units = sorted(glob.glob(os.path.join(REPO, "systemd", "*.service")) +
                   glob.glob(os.path.join(REPO, "systemd", "*.target")))
    for path in units:
        shutil.copy(path, stage)
    if os.path.exists(os.path.join(stage, "writer@.service")):
        os.symlink("writer@.service", os.path.join(stage, "writer@1.service"))  # verify wants an instance
    for path in glob.glob(os.path.join(REPO, "daemons", "*")):
        target = os.path.join(root, "usr", "bin", os.path.basename(path))
        shutil.copy(path, target)
        os.chmod(target, 0o755)
    return [os.path.basename(path) for path in units]


def inside(root, script):
    """Run `script` with sh in the root (not booted); its combined output."""
    env = dict(os.environ, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
    try:
        done = subprocess.run(["systemd-nspawn", "-q", "-D", root, "--register=no", "--keep-unit", "--pipe",
                               "sh", "-c", script], capture_output=True, text=True, env=env, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AuditError(f"systemd-nspawn: {exc}") from None
    # nspawn's own notice about its propagation folder is not the units' business
    lines = [line for line in (done.stdout + done.stderr).splitlines() if "/run/systemd/nspawn/" not in line]
    return done.returncode, lines


def goal(unit):
    return WRITER_GOAL if unit.startswith("writer@") else NETWORK_GOAL


def audit(root):
    names = prepare(root)
    checked = [name.replace("writer@.service", "writer@1.service") for name in names]
    paths = " ".join(f"/{STAGE}/{name}" for name in checked)
    code, verify = inside(root, f"systemd-analyze verify --man=no {paths} 2>&1; echo verify-exit=$?")
    verify_ok = code == 0 and verify[-1:] == ["verify-exit=0"] and len(verify) == 1
    services = [name for name in checked if name.endswith(".service")]
    script = "; ".join(f"systemd-analyze security --offline=yes --no-pager /{STAGE}/{name} | tail -n 1"
                       for name in services)
    _, lines = inside(root, script)
    exposures = {match.group(1): float(match.group(2)) for match in map(EXPOSURE.search, lines) if match}
    return verify_ok, ([] if verify_ok else verify), exposures, services


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench.audit", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=DEFAULT_ROOT, help=f"Debian 13 root filesystem (default {DEFAULT_ROOT})")
    args = parser.parse_args(argv)
    try:
        verify_ok, verify_lines, exposures, services = audit(args.root)
    except (AuditError, OSError) as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return 2
    print("systemd-analyze verify (Debian 13): " + ("clean" if verify_ok else "NOT clean"))
    for line in verify_lines:
        print(f"    {line}")
    print(f"\n{'unit':<28} {'exposure':>8}  {'goal':>5}")
    missed = []
    for name in services:
        exposure = exposures.get(name)
        met = exposure is not None and exposure <= goal(name)
        if not met:
            missed.append(name)
        shown = "?" if exposure is None else f"{exposure:.1f}"
        print(f"{name:<28} {shown:>8}  <= {goal(name):.1f}  {'met' if met else 'MISSED'}")
    print(f"\n(writer@ goal {WRITER_GOAL}: it opens its slot's card reader and listens to udev over netlink)")
    failed = (not verify_ok) or missed
    print("audit: " + ("FAILED: " + "; ".join((["verify not clean"] if not verify_ok else []) + missed)
                       if failed else "every unit verified, every exposure within goal"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
