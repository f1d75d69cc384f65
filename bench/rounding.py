"""Parts of an Azure FOCUS export whose costs carry 28 decimals, ingested in one call
against the same parts each in a call of its own, in one run.

Run by hand (not in CI):  python bench/rounding.py [--parts 8] [--rows 50]

Every row is rounded at the 18th decimal place, so every file has residues to sum. In one
call the parts form one group: their residues are summed in one query per column,
grouped by file. Each in its own call, every file compiles those queries again. Prints
both times and their ratio. To compare with another checkout, run the same command with
PYTHONPATH=<checkout>/src (before 2026-12-07 a group also summed them file by file).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from computeledger import open_ledger

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.ingest.test_real_exports import azure_export  # the tests' export writer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=8)
    parser.add_argument("--rows", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="roundingbench-"))
    parts = []
    for i in range(args.parts):
        part = folder / f"part_0_{i:04d}.csv"
        azure_export(part, rows=args.rows, seed=i)
        parts.append(part)
    warm = folder / "warm.csv"
    azure_export(warm, rows=5, seed=99)
    with open_ledger(folder / "warm.duckdb") as lg:  # the rules compiled once per process
        lg.ingest([warm])
    start = time.perf_counter()
    with open_ledger(folder / "together.duckdb") as lg:
        together = lg.ingest(parts)
    one_call = time.perf_counter() - start
    start = time.perf_counter()
    with open_ledger(folder / "apart.duckdb") as lg:
        apart = [lg.ingest([part])[0] for part in parts]
    each = time.perf_counter() - start
    assert [r.rounding for r in together] == [r.rounding for r in apart]
    print(
        f"{args.parts} parts of {args.rows} rows: one call {one_call:.1f} s, a call each {each:.1f} s "
        f"({each / one_call:.1f}x); the same residues either way"
    )


if __name__ == "__main__":
    main()
