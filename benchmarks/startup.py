"""Wall time of `persona --help`, of a mistyped flag and of re-running a finished run: what a user waits for.

Each command runs in a fresh process, as a user types it, several times; the table shows the median and the
range. ``--checkout DIR`` times another checkout of the package (a git worktree of an earlier commit, say) through
the same interpreter, so a change can be measured before and after:

    .venv/bin/python benchmarks/startup.py [--runs 5]
    git worktree add /tmp/before <commit> && .venv/bin/python benchmarks/startup.py --checkout /tmp/before

Measured on a 2-core machine (2026-11-30), median of 5 runs, before (32d0143: every command imported DSPy,
litellm and pandas at startup) and after (they load inside the commands that need them):

    command                              before    after
    persona --help                       6.72 s    0.26 s
    persona bench run --help             6.68 s    0.33 s
    persona bench run --no-such-flag     6.92 s    0.32 s

Since a kind's subcommand makes its flags from the kind's spec (2026-12-04, median of 3 runs; before: 4c7cadc):

    command                              before    after
    persona --help                       0.25 s    0.26 s
    persona bench run --help             0.43 s    7.57 s
    persona bench run --no-such-flag     0.30 s    7.77 s

and since DSPy, litellm and llama.cpp load only when a stage has work (2026-12-04, median of 5 runs, with
``--replay`` on a finished quickstart; before: d2e11b6):

    command                              before    after
    persona --help                       0.33 s    0.36 s
    persona bench run --help             6.07 s    0.94 s
    persona bench run --no-such-flag     5.87 s    0.90 s
    persona quickstart (replay)          7.15 s    0.80 s

    .venv/bin/python benchmarks/startup.py --replay /tmp/qs [--checkout /tmp/before]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

COMMANDS = {
    "persona --help": ["--help"],
    "persona bench run --help": ["bench", "run", "--help"],
    "persona bench run --no-such-flag (usage error)": ["bench", "run", "--no-such-flag"],
}


def time_command(args: list[str], runs: int, checkout: Path | None) -> list[float]:
    """Seconds per fresh `python -m persona ARGS` process."""
    env = dict(os.environ)
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        # From a neutral folder: `python -m` puts the working directory ahead of PYTHONPATH.
        subprocess.run(
            [sys.executable, "-m", "persona", *args],
            env=env,
            cwd=tempfile.gettempdir(),
            capture_output=True,
            check=False,
        )
        times.append(time.perf_counter() - start)
    return times


def finished_quickstart(run_dir: Path) -> list[str]:
    """The quickstart command into ``run_dir``, run once first (minutes, on the embedded model) if it is not done."""
    command = ["quickstart", "--out", str(run_dir)]
    if not (run_dir / "manifest.json").exists():
        print(f"running the quickstart into {run_dir} once, to have a finished run to replay (a few minutes)")
        subprocess.run([sys.executable, "-m", "persona", *command], check=True, capture_output=True)
    return command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--checkout", type=Path, help="time the package in this checkout instead of the installed one")
    parser.add_argument(
        "--replay", type=Path, metavar="DIR", help="also time re-running the finished quickstart in DIR (0 model calls)"
    )
    args = parser.parse_args()
    where = str(args.checkout) if args.checkout else "installed package"
    table = Table(title=f"CLI startup ({where}, {args.runs} runs, {os.cpu_count()} cores)")
    for column in ("command", "median s", "min s", "max s"):
        table.add_column(column)
    commands = dict(COMMANDS)
    if args.replay is not None:
        commands["persona quickstart (finished run: replay)"] = finished_quickstart(args.replay.resolve())
    for label, command in commands.items():
        times = time_command(command, args.runs, args.checkout)
        table.add_row(label, f"{statistics.median(times):.2f}", f"{min(times):.2f}", f"{max(times):.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
