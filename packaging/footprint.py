#!/usr/bin/python3
"""The footprint of each role package on a minimal Debian 13, for `make audit`.

    packaging/footprint.py [DEBS_DIR]        (default var/debs; run as root from the tree's top)

For every package `make deb` built: its own installed size (Installed-Size),
and what `apt-get install --simulate ./python3-cardshop_….deb ./ROLE_….deb`
would add to a minbase Debian 13 root (packaging/rootfs.sh var/rootfs/base,
made once): the number of Debian packages and the disk space, with only the
Depends and with the Recommends apt installs by default. Simulation changes
nothing in the root. Exits 1 when a role would pull a library its host must
not load (tests/unit/test_layers.py): a writer or a creator host Bottle,
Waitress or pymongo.
"""

import glob
import os
import re
import subprocess
import sys

ROOT = "var/rootfs/base"
OURS = ("python3-cardshop", "cardshop-scheduler", "cardshop-manager", "cardshop-warehouse", "cardshop-creator",
        "cardshop-writer", "ferretdb")
FORBIDDEN = {
    "cardshop-writer": {"python3-bottle", "python3-waitress", "python3-pymongo"},
    "cardshop-creator": {"python3-bottle", "python3-waitress", "python3-pymongo"},
    "cardshop-warehouse": {"python3-bottle", "python3-waitress"},
    "cardshop-manager": {"python3-pymongo"},
}
INST = re.compile(r"^Inst (\S+)", re.MULTILINE)
DISK = re.compile(r"^DISK (\d+)", re.MULTILINE)
MARK = "=== footprint "


def debs(folder):
    """Package name -> .deb path, for the packages of OURS found in `folder`."""
    found = {}
    for name in OURS:
        paths = sorted(glob.glob(os.path.join(folder, f"{name}_*.deb")))
        if paths:
            found[name] = paths[-1]
    return found


def installed_size(path):
    return int(subprocess.run(["dpkg-deb", "-f", path, "Installed-Size"], capture_output=True, text=True,
                              check=True).stdout.strip())


def simulate(found):
    """Package -> {mode: (Debian packages apt would add, disk space)} from one container run."""
    script = ["set -e", "[ -n \"$(ls /var/lib/apt/lists/*_Packages 2>/dev/null)\" ] || apt-get update -qq"]
    for name, path in found.items():
        files = [f"/debs/{os.path.basename(path)}"]
        if name.startswith("cardshop-"):
            files.insert(0, f"/debs/{os.path.basename(found['python3-cardshop'])}")
        for mode, flag in (("depends", "--no-install-recommends"), ("recommends", "")):
            script.append(f"echo '{MARK}{name} {mode}'")
            script.append(f"out=$(apt-get install --simulate {flag} {' '.join(files)} 2>&1) || true")
            script.append('echo "$out"')
            # apt's simulation gives no sizes: add up those of the packages it would add.
            ours = "".join(f" -e {own}" for own in OURS)
            script.append(f"names=$(echo \"$out\" | awk '/^Inst /{{print $2}}' | grep -v -x{ours} || true)")
            script.append("[ -z \"$names\" ] || apt-cache show --no-all-versions $names "
                          "| awk '/^Installed-Size:/{s+=$2} END{print \"DISK \" s}'")
    folder = os.path.abspath(os.path.dirname(next(iter(found.values()))))
    done = subprocess.run(
        ["systemd-nspawn", "-q", "-D", ROOT, "--register=no", "--keep-unit", "--pipe", f"--bind-ro={folder}:/debs",
         "env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8", "sh", "-c", "\n".join(script)],
        capture_output=True, text=True, env={**os.environ, "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"})
    results = {}
    for section in done.stdout.split(MARK)[1:]:
        head, _, body = section.partition("\n")
        name, mode = head.split()
        if "Unable to" in body or "unmet dependencies" in body:
            raise SystemExit(f"footprint: apt cannot install {name} on Debian 13:\n{body}")
        pulled = {package for package in INST.findall(body) if package not in OURS}
        disk = DISK.search(body)
        results.setdefault(name, {})[mode] = (pulled, f"{int(disk.group(1)) / 1024:.1f} MiB" if disk else "0 MiB")
    if len(results) != len(found):
        raise SystemExit(f"footprint: the simulation in {ROOT} failed:\n{done.stdout}{done.stderr}")
    return results


def main(argv):
    folder = argv[1] if len(argv) > 1 else "var/debs"
    found = debs(folder)
    if "python3-cardshop" not in found:
        raise SystemExit(f"footprint: no python3-cardshop_*.deb in {folder}: run make deb first")
    subprocess.run(["sh", "packaging/rootfs.sh", ROOT], check=True)
    results = simulate(found)
    rows = [("package", "own size", "pulls (Depends)", "adds", "pulls (+Recommends)", "adds")]
    wrong = []
    for name in found:
        (depends, disk), (recommends, disk_all) = results[name]["depends"], results[name]["recommends"]
        rows.append((name, f"{installed_size(found[name])} KiB", str(len(depends)), disk, str(len(recommends)),
                     disk_all))
        pulled_forbidden = recommends & FORBIDDEN.get(name, set())
        if pulled_forbidden:
            wrong.append(f"{name} pulls {', '.join(sorted(pulled_forbidden))}")
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    print("Footprint on a minimal Debian 13 (minbase + systemd, python3); role packages with python3-cardshop")
    for row in rows:
        print("  ".join(cell.ljust(width) if column == 0 else cell.rjust(width)
                        for column, (cell, width) in enumerate(zip(row, widths))))
    for line in wrong:
        print(f"footprint: {line}, which its host must not load", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
