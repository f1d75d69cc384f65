"""Generator benchmark: rows/s and peak memory of `computeledger synth` at a given scale.

Run by hand (not in CI):  python bench/synth.py [--scale large] [--months 24]

The generator runs in a child process so that its peak resident memory is its own. As a
baseline in the same run, the child also times writing the same number of rows of a
trivial CSV with pyarrow (the floor of any CSV writer on this machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys
from pathlib import Path
from computeledger.synth import generate
r = generate(Path(sys.argv[1]), months=int(sys.argv[2]), scale=sys.argv[3], seed=7)
print(r["rows"])
"""

FLOOR = """
import sys
import pyarrow as pa, pyarrow.csv as pacsv
n = int(sys.argv[2])
t = pa.table({f"c{i}": pa.array([f"value-{i}"] * n) for i in range(40)})
pacsv.write_csv(t, sys.argv[1])
"""


def run(code: str, *args: str) -> tuple[float, float, str]:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"child failed with status {status}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, out.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scale", default="large")
    ap.add_argument("--months", type=int, default=24)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cl-synth-"))
    try:
        secs, rss, rows = run(CHILD, str(work / "lab"), str(args.months), args.scale)
        n = int(rows)
        size = sum(f.stat().st_size for f in (work / "lab").rglob("*.csv")) / 2**20
        print(
            f"synth  {n:,} rows, {size:,.0f} MiB: {secs:.1f} s, {n / secs:,.0f} rows/s, peak {rss:,.0f} MiB"
        )
        shutil.rmtree(work / "lab")
        fsecs, frss, _ = run(FLOOR, str(work / "floor.csv"), str(min(n, 5_000_000)))
        m = min(n, 5_000_000)
        print(
            f"floor  pyarrow CSV write of {m:,} rows x 40 columns: {m / fsecs:,.0f} rows/s, peak {frss:,.0f} MiB"
        )
        print(f"ratio (synth speed / floor speed): {(n / secs) / (m / fsecs):.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
