"""Answer-submit latency of one study server under many annotators submitting at once.

Each simulated annotator starts, answers ten questions and an attention check (every submit sent twice at once,
as a double click sends it) and submits; the server is `persona annotate serve` in its own process, and the
simulated annotators share this machine's cores with it.

    python benchmarks/study_load.py --annotators 10 50 100
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from study_load import run_load, stored
from study_server import Server, links, make_study

PER_PERSONA = 4
TOTAL = 11  # ten questions and one attention check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotators", type=int, nargs="+", default=[10, 50, 100])
    args = parser.parse_args()
    table = Table("annotators", "answer submits", "wall s", "submits/s", "p50 ms", "p95 ms", "p99 ms", "stored once")
    for count in args.annotators:
        with tempfile.TemporaryDirectory() as folder:
            study = make_study(Path(folder), n_personas=math.ceil(count / PER_PERSONA), annotators=PER_PERSONA)
            crowd = links(study)[:count]
            with Server(study) as server:
                latencies, wall = run_load(server.base, crowd, TOTAL)
            p50, p95, p99 = np.percentile(latencies, [50, 95, 99]) * 1000
            once = len(stored(study)) == count * TOTAL
            table.add_row(
                str(count), str(len(latencies)), f"{wall:.1f}", f"{len(latencies) / wall:.0f}",
                f"{p50:.0f}", f"{p95:.0f}", f"{p99:.0f}", "yes" if once else "NO",
            )  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
