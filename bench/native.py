"""A native AWS CUR against the FOCUS export of the same rows: ingest time, in one run.

Run by hand (not in CI):  python bench/native.py [--rows 1000000] [--dir /tmp/nativebench]

Writes a legacy CUR CSV of about `--rows` rows (the focus_converters sample's 1,281 rows
repeated, each copy under its own payer account so that no copy restates another), reads
it into a ledger through the shipped `aws-cur` mapping, exports that ledger as FOCUS 1.3
CSV (`export --focus`, one file per account here), then times, each into a fresh ledger in
this process after a warm-up: the native file, and the FOCUS files of the same rows.
Prints both times and the ratio (FOCUS time / native time: 1.0 is as fast as FOCUS).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import resource
import tempfile
import time
from pathlib import Path

from computeledger import open_ledger
from computeledger.export.focus import write_focus

SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "computeledger"
    / "data"
    / "exports"
    / "aws_cur_sample.csv.gz"
)


def write_cur(target: Path, rows: int) -> int:
    text = gzip.decompress(SAMPLE.read_bytes()).decode("utf-8")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    body = list(reader)
    payer = header.index("bill/PayerAccountId")
    copies = max(1, rows // len(body))
    with target.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i in range(copies):
            for row in body:
                row = list(row)
                row[payer] = f"{100000000000 + i}"
                w.writerow(row)
    return copies * len(body)


def timed(path: Path, files: list[Path]) -> tuple[float, int]:
    start = time.perf_counter()
    with open_ledger(path) as lg:
        results = lg.ingest(files)
    return time.perf_counter() - start, sum(r.rows_loaded for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    out = Path(args.dir or tempfile.mkdtemp(prefix="nativebench-"))
    out.mkdir(parents=True, exist_ok=True)
    cur = out / "cur.csv"
    n = write_cur(cur, args.rows)
    focus = out / "focus"
    with open_ledger(out / "source.duckdb") as lg:
        lg.ingest([cur])
        files = [Path(f["path"]) for f in write_focus(lg, focus, "1.3")]
    small = out / "small.csv"
    write_cur(small, 1)
    with open_ledger(out / "warm.duckdb") as lg:  # both kinds of rules compiled once per process
        lg.ingest([small])
        lg.ingest(files[:1])
    native_s, native_rows = timed(out / f"native-{time.time_ns()}.duckdb", [cur])
    focus_s, focus_rows = timed(out / f"focus-{time.time_ns()}.duckdb", files)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{n:,} CUR rows: native {native_s:.1f} s ({native_rows:,} loaded), FOCUS export of them "
        f"{focus_s:.1f} s in {len(files)} files ({focus_rows:,} loaded); native at "
        f"{focus_s / native_s:.2f}x the FOCUS path; peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
