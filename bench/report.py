"""The report over a large ledger: time to write it, and its size (the page carries
aggregates, not rows). Give a ledger that bench/accounting.py built (10M charges, allocated):

    .venv/bin/python bench/report.py /tmp/econbench/accounting-10000000.duckdb
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from computeledger import open_ledger
from computeledger.report import write_report
from computeledger.report.sections import BUILDERS, Options


def main(path: str) -> None:
    with open_ledger(path, read_only=True) as lg, tempfile.TemporaryDirectory() as tmp:
        rows = lg.charges.count().to_pyarrow().as_py()
        for build in BUILDERS:  # each section on its own, then the whole page
            t = time.perf_counter()
            try:
                build(lg, Options())
            except Exception as exc:
                print(f"  {build.__name__}: {exc}")
            print(f"  {build.__name__}: {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        got = write_report(lg, Path(tmp) / "report.html")
        took = time.perf_counter() - t
    print(
        f"{rows:,} charges: report written in {took:.1f} s, {got['bytes'] / 1e6:.2f} MB, {got['charts']} charts"
    )


if __name__ == "__main__":
    main(sys.argv[1])
