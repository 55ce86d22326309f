"""The start-to-ready figure on its own, for `make audit`:

    python -m tests.system.figure [DEBS_FOLDER]       (as root; default var/debs)

Boots a Debian 13 system, installs and configures every central role as the
system tests do, and prints "figure: start-to-ready N s": the time from
`systemctl start cardshop.target` to all its services active (READY=1).
"""

import logging
import os
import sys

from tests.system import machine as machines
from tests.system import site
from tests.system.conftest import debs_in


def main(argv):
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    folder = argv[0] if argv else os.path.join(machines.VAR, "debs")
    debs = debs_in(folder)
    why = machines.can_boot() or ("" if "cardshop-scheduler" in debs else f"no .debs in {folder} (make deb)")
    if why:
        print(f"figure: start-to-ready not measured: {why}")
        return 1
    machines.ensure_base(debs.values())
    with machines.Machine(f"figure-{os.getpid()}") as machine:
        machine.boot()
        site.central_system(machine, debs)
        print(f"figure: start-to-ready {site.start_to_ready(machine):.1f} s "
              f"({len(site.central_units(machine))} units, goal: none, a figure)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
