"""Persona generation speed on PUMS-format files: load, decode and procedural sampling at 10k / 100k / 1M rows.

Each size runs in its own process so its peak memory is its own. Files are written first from the real data
dictionary's codes (tests/pums_files.py), two persons per household, and are not timed. By default they are as
wide as the Census Bureau's (287 person and 241 housing columns, the unused ones filler), since reading past the
unused columns is most of a real file's cost; `--narrow` writes only the columns the reader uses.

    python benchmarks/personas.py [--sizes 10000 100000 1000000] [--personas 1586] [--narrow]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, unlike ru_maxrss, is not inherited across fork and exec."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(folder: Path, rows: int, personas: int) -> dict:
    """One size, in this process (files already written): seconds per phase and peak resident memory."""
    from persona.data.census import CensusSample
    from persona.data.dictionary import load_dictionary
    from persona.data.population import sample_personas
    from persona.data.pums import KEY, PUMS_FIELDS, WEIGHT, _decode_table, _members, _read_table

    baseline = peak_rss_mb()
    variables = load_dictionary()
    clock = time.perf_counter()
    tables = {}
    for record in ("person", "housing"):
        for name, handle in _members(folder / f"psam_{record[0]}06.csv", record):
            tables[record] = (name, _read_table(name, handle, record, variables))
    load = time.perf_counter() - clock
    clock = time.perf_counter()
    people = _decode_table(*tables["person"], "person", variables)
    homes = _decode_table(*tables["housing"], "housing", variables)
    merged = people.merge(homes, on=KEY, how="left", validate="m:1")
    order = tuple(f.attribute for f in PUMS_FIELDS)
    sample = CensusSample("bench", merged[list(order)], merged[WEIGHT].to_numpy(float), order)
    decode = time.perf_counter() - clock
    clock = time.perf_counter()
    drawn = sample_personas(personas, seed=0, source=sample)
    sampling = time.perf_counter() - clock
    peak = peak_rss_mb()
    assert len(drawn) == personas and len(sample.frame) == rows
    return {
        "load": load,
        "decode": decode,
        "sampling": sampling,
        "peak_mb": peak,
        "rise_mb": peak - baseline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--personas", type=int, default=1586, help="procedural personas to draw (paper: 1,586)")
    parser.add_argument("--narrow", action="store_true", help="only the columns the reader uses (not full width)")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(Path(args.one[0]), int(args.one[1]), args.personas)))
        return
    from pums_files import write_pums

    width = "narrow" if args.narrow else "full-width"
    table = Table(title=f"{width} PUMS files: load/decode and {args.personas} procedural personas (no LM)")
    for column in (
        "rows",
        "MB on disk",
        "load s",
        "load rows/s",
        "decode s",
        "decode rows/s",
        "sampling s",
        "personas/s",
        "total s",
        "peak RSS MB",
        "RSS rise MB",
    ):
        table.add_column(column, justify="right")
    for rows in args.sizes:
        folder = Path(tempfile.mkdtemp(prefix="pums-bench-"))
        person, housing = write_pums(folder, rows, full_width=not args.narrow)
        size = (person.stat().st_size + housing.stat().st_size) / 1e6
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(folder), str(rows), "--personas", str(args.personas)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        shutil.rmtree(folder)
        r = json.loads(out.strip().splitlines()[-1])
        table.add_row(
            f"{rows:,}",
            f"{size:,.0f}",
            f"{r['load']:.2f}",
            f"{rows / r['load']:,.0f}",
            f"{r['decode']:.2f}",
            f"{rows / r['decode']:,.0f}",
            f"{r['sampling']:.2f}",
            f"{args.personas / r['sampling']:,.0f}",
            f"{r['load'] + r['decode'] + r['sampling']:.2f}",
            f"{r['peak_mb']:,.0f}",
            f"{r['rise_mb']:,.0f}",
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
