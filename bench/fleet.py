"""The fleet test's ansible-playbook times, as the last `make test-fleet` measured them.

Booting three hosts and deploying them takes minutes, so `make bench` does not
run it again: it prints what tests/system/fleet saved in var/figures/fleet.json.
The ratio is the second run's time over the first's (a run with nothing to change
against the one that deployed everything); it has no goal, only the figure.
"""

import json
import os

FIGURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "figures", "fleet.json")


def run(report):
    name = "fleet: ansible-playbook site.yml onto three booted hosts"
    try:
        with open(FIGURES) as handle:
            saved = json.load(handle)
        runs = {item["run"]: item for item in saved["runs"]}
        first, second = runs["first run"], runs["second run"]
    except (OSError, ValueError, KeyError, TypeError):
        print(f"{name}\n    no figures yet: run `make test-fleet` (it saves them in {FIGURES})\n", flush=True)
        return
    others = ", ".join(f"{item['run']} {item['seconds']:.0f} s" for item in saved["runs"]
                       if item["run"] not in ("first run", "second run"))
    report(name, f"first run {first['seconds']:.0f} s (changed={first['changed']}), second run "
                 f"{second['seconds']:.0f} s (changed={second['changed']}); measured by make test-fleet at "
                 f"{saved.get('at', '?')}" + (f"; also {others}" if others else ""),
           second["seconds"] / first["seconds"], None, "second run / first run")
