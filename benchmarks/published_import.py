"""Importing and splitting a file the size of the published PERSONA dataset: wall time and peak memory.

The hub cannot be reached here, so the file is synthetic, in the published layout and at its size: 1,586 personas x
200 rows = 317,200 rows, each persona's profile 33 ``key: value`` lines, 3,868 distinct prompts, and answer,
revision and critique texts of a few hundred words' worth of characters. Each step runs in a fresh process, as a
user would run it, and its peak resident memory is read from the kernel (``ru_maxrss`` of the child).

    .venv/bin/python benchmarks/published_import.py [--personas 1586] [--rows 200] [--keep DIR]

Target: import and split each under 30 s and 2 GB on 2 cores. Measured on a 2-core machine (2026-12-04):

    step                              wall     peak memory
    pairs import                      12.6 s   1.05 GiB
    pairs split --unseen 0.36          8.9 s   0.18 GiB
    pairs export --format persona      9.2 s   1.69 GiB

and the export equals the input file, column for column and row for row.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from persona.data.persona import ATTRIBUTES

WORDS = np.array(
    "the a people should could would their government money family work community choice health school city "
    "public private people's children local national support cost time years answer better important values "
    "freedom safety fair rules tradition change balance respect practical simple short direct clear".split()
)
PROMPTS = 3868


def _texts(rng: np.random.Generator, n: int, words: int) -> list[str]:
    """``n`` texts of about ``words`` words each, drawn from a small vocabulary (its size does not matter here)."""
    lengths = rng.integers(words // 2, words * 3 // 2, size=n)
    pool = WORDS[rng.integers(0, len(WORDS), size=int(lengths.sum()))]
    cuts = np.cumsum(lengths)[:-1]
    return [" ".join(part) + "." for part in np.split(pool, cuts)]


def make(path: Path, personas: int, rows: int, seed: int = 0) -> None:
    """Write the synthetic published-layout file, one row group per 20,000 rows."""
    rng = np.random.default_rng(seed)
    profiles = [
        "\n".join(f"{name.lower()}: {' '.join(_texts(rng, 1, 3))}" for name in ATTRIBUTES) for _ in range(personas)
    ]
    prompts = [f"Question {i}: {text}?" for i, text in enumerate(_texts(rng, PROMPTS, 14))]
    total = personas * rows
    writer = None
    for start in range(0, total, 20_000):
        index = np.arange(start, min(total, start + 20_000))
        person = index // rows
        asked = (person * 7919 + (index % rows) * 104729) % PROMPTS  # distinct prompts within a persona
        table = pa.table(
            {
                "persona": [profiles[p] for p in person],
                "instruction": [prompts[q] for q in asked],
                "original": _texts(rng, len(index), 150),
                "data": _texts(rng, len(index), 90),
                "critique": _texts(rng, len(index), 110),
                "question type": ["test" if i % rows >= rows * 3 // 4 else "train" for i in index],
            }
        )
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()


# Runs the command as its only child, so the kernel's peak for its children is that command's own.
WRAPPER = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.stderr.write(done.stdout + done.stderr)\n"
)


def timed(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident GiB of one command in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    code, peak_kib = done.stdout.split()
    if code != "0":
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    return wall, int(peak_kib) / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", type=int, default=1586)
    parser.add_argument("--rows", type=int, default=200, help="rows per persona")
    parser.add_argument("--keep", type=Path, help="folder to keep the file and run dirs in (default: a temp one)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = options.keep or Path(temp)
        folder.mkdir(parents=True, exist_ok=True)
        source = folder / "persona.parquet"
        start = time.perf_counter()
        make(source, options.personas, options.rows)
        made = time.perf_counter() - start
        persona = [sys.executable, "-m", "persona"]
        steps = {
            "pairs import": [*persona, "pairs", "import", str(source), "--out", str(folder / "imported")],
            "pairs split --unseen 0.36": [
                *persona, "pairs", "split", str(folder / "imported"), "--unseen", "0.36", "--out", str(folder / "split")
            ],
            "pairs export --format persona": [
                *persona, "pairs", "export", str(folder / "split"), "--format", "persona", "--out", str(folder / "out")
            ],
        }  # fmt: skip
        table = Table(title=f"{options.personas * options.rows:,} rows ({source.stat().st_size / 1e6:.0f} MB Parquet)")
        for column in ("step", "wall", "peak memory"):
            table.add_column(column, justify="left" if column == "step" else "right")
        table.add_row("make the synthetic file (not timed below)", f"{made:.1f} s", "")
        for name, args in steps.items():
            wall, peak = timed(args)
            table.add_row(name, f"{wall:.1f} s", f"{peak:.2f} GiB")
        Console().print(table)


if __name__ == "__main__":
    main()
