"""Write the documented sample configs: python -m cardshop.config.write_samples etc"""

import os
import sys

from cardshop.config import beat, creator, manager, monitor, scheduler, warehouse, writer
from cardshop.config.sample import render_sample

SAMPLES = {
    "scheduler.yaml": (scheduler.SCHEMA, "/etc/cardshop/scheduler.yaml: the scheduler API daemon"),
    "monitor.yaml": (monitor.SCHEMA, "/etc/cardshop/monitor.yaml: the monitor daemon"),
    "beat.yaml": (beat.SCHEMA, "/etc/cardshop/beat.yaml: the beat (periodic jobs; run exactly one)"),
    "creator.yaml": (creator.SCHEMA, "/etc/cardshop/creator.yaml: the image creator"),
    "warehouse.yaml": (warehouse.SCHEMA, "/etc/cardshop/warehouse.yaml: the FTP(S) warehouse daemon"),
    "manager.yaml": (manager.SCHEMA, "/etc/cardshop/manager.yaml: the manager web UI"),
    "writer.yaml": (writer.SCHEMA, "/etc/cardshop/writer.yaml: a writer host (every writer@<slot> reads it)"),
}


def main(directory):
    for name, (schema, title) in SAMPLES.items():
        with open(os.path.join(directory, name), "w") as handle:
            handle.write(render_sample(schema, title))
        print(f"wrote {os.path.join(directory, name)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "etc")
