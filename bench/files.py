"""Fixed cost per file: many small FOCUS exports in one `ingest` call, against plain DuckDB
reading each into a table, in one run.

Run by hand (not in CI):  python bench/files.py [--months 12] [--dir /tmp/filesbench]

Writes the synthetic lab (`computeledger synth`, small scale: 4 providers' monthly FOCUS
CSVs), then, in this process: one warm-up ingest (the rules compiled once per process),
the lab's FOCUS files into a fresh ledger in one call, and DuckDB's
`CREATE TABLE AS SELECT * FROM read_csv(file)` per file into a fresh database; then the
same for the lab's GPU-cloud invoices through the shipped mapping. Prints both
times and the fixed cost per file: (ours - DuckDB's) / files. To compare with another
checkout, run the same command with PYTHONPATH=<checkout>/src.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from computeledger import open_ledger
from computeledger.shipped import INVOICE_MAPPING
from computeledger.synth.generate import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    out = Path(args.dir or tempfile.mkdtemp(prefix="filesbench-"))
    lab = out / "lab"
    if not lab.exists():
        generate(lab, months=args.months)
    files = sorted((lab / "focus").rglob("*.csv"))
    with open_ledger(out / "warm.duckdb") as lg:
        lg.ingest(files[:1])
    start = time.perf_counter()
    with open_ledger(out / f"ours-{time.time_ns()}.duckdb") as lg:
        results = lg.ingest(files)
    ours = time.perf_counter() - start
    rows = sum(r.rows_loaded for r in results)
    con = duckdb.connect(str(out / f"plain-{time.time_ns()}.duckdb"))
    start = time.perf_counter()
    for i, f in enumerate(files):
        con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv(?)", [str(f)])
    plain = time.perf_counter() - start
    print(
        f"{len(files)} files, {rows:,} rows: computeledger {ours:.2f} s, DuckDB read_csv {plain:.2f} s; "
        f"fixed cost per file {(ours - plain) / len(files):.3f} s"
    )
    invoices = sorted((lab / "invoices").rglob("*.csv"))
    with open_ledger(out / "warm-mapped.duckdb") as lg:
        lg.ingest(invoices[:1], mapping=INVOICE_MAPPING)
    start = time.perf_counter()
    with open_ledger(out / f"mapped-{time.time_ns()}.duckdb") as lg:
        results = lg.ingest(invoices, mapping=INVOICE_MAPPING)
    mapped = time.perf_counter() - start
    start = time.perf_counter()
    for i, f in enumerate(invoices):
        con.execute(f"CREATE TABLE m{i} AS SELECT * FROM read_csv(?)", [str(f)])
    plain = time.perf_counter() - start
    rows = sum(r.rows_loaded for r in results)
    print(
        f"{len(invoices)} mapped invoices, {rows:,} rows: computeledger {mapped:.2f} s, DuckDB read_csv "
        f"{plain:.2f} s; fixed cost per file {(mapped - plain) / len(invoices):.3f} s"
    )


if __name__ == "__main__":
    main()
