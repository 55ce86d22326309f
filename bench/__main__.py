"""Print every speed figure with its goal: python -m bench. Exit code 1 when a goal is missed."""

import sys

from bench import api, atomic, database, fleet, heartbeats, logins, manager, pipeline, scale, writer

failures = []


def report(name, detail, ratio, goal, extra=None):
    verdict = "" if goal is None else ("  goal >= %.2f: %s" % (goal, "met" if ratio >= goal else "MISSED"))
    print(f"{name}\n    {detail}\n    ratio {ratio:.2f}{verdict}" + (f"  ({extra})" if extra else ""), flush=True)
    if goal is not None and ratio < goal:
        failures.append(name)


def main():
    print("Cardshop benchmarks (each figure against a reference measured in the same run)\n", flush=True)
    api.run(report)
    logins.run(report)
    atomic.run(report)
    database.run(report)
    scale.run(report)  # a smaller shop than make bench-scale's
    pipeline.run(report)
    heartbeats.run(report)
    manager.run(report)
    writer.run(report)
    fleet.run(report)
    print(f"\n{len(failures)} goal(s) missed" + (": " + "; ".join(failures) if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
