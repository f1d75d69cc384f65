"""Scale benchmark: ingest, allocation and summary queries from 1M to 100M charge rows, on
DuckDB and on a local Spark, against the same work written by hand in plain DuckDB SQL.

Run by hand (not in CI):
    python bench/scale.py --rows 1M,10M,100M --spark 1M,10M [--dir /big/disk]

Data: one month of the synthetic lab's AWS bill (FOCUS 1.2, every column as text, as
`computeledger convert` writes it) copied under distinct billing accounts until N rows,
in Parquet files of at most 10M rows (each copy its own bill, so none replaces another).

For each N, each in its own process (peak memory is that process tree's, sampled):
  - computeledger on DuckDB: ingest (every FOCUS rule, quarantine, provenance), allocation
    by the lab's shipped rules, then the summary queries;
  - computeledger on Spark (local[2]), the same steps;
  - baseline: plain DuckDB SQL by hand: the typed columns cast from the text (no checks,
    no provenance), bench/allocate.py's hand-written allocation, and GROUP BY queries.
    Above --hand-ingest-max (10M) the baseline skips its ingest (hours at 100M, at the rate
    the smaller runs measure) and copies computeledger's typed charges instead.
`--runs spark --append` adds runs to an earlier run's results (a long Spark run apart).
`--query-rows` times the summary queries (ours, and by hand on the same tables) on ledgers
of those sizes, each built by copying the largest DuckDB ledger not above it (charges and
allocations, in SQL); `--queries-only` runs just those on ledgers an earlier run left.
Results go to bench/scale.json (rows, seconds, peak MiB per step) and a chart to
docs/scale.svg.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MAX_FILE_ROWS = 10_000_000
QUERIES = {"provider,month": "by provider and month", "workload,model": "by workload and model"}


def rows_of(text: str) -> int:
    text = text.strip().upper()
    factor = {"K": 10**3, "M": 10**6, "B": 10**9}.get(text[-1], 1)
    return int(float(text.rstrip("KMB")) * factor)


# -- data ------------------------------------------------------------------------------
def base_bill(work: Path) -> Path:
    """One month of the lab's AWS bill at a large scale, as text-column Parquet."""
    target = work / "base.parquet"
    if target.exists():
        return target
    from computeledger.ingest.convert import to_parquet
    from computeledger.synth import generate

    generate(work / "lab", months=1, start="2024-01", scale="1000", seed=3)
    pairs = to_parquet([work / "lab" / "focus" / "aws"], work / "base")
    pairs[0][1].rename(target)
    return target


def dataset(work: Path, base: Path, n: int) -> list[Path]:
    """N rows: copies of the base bill under distinct billing accounts, in files of at most 10M rows."""
    import duckdb

    folder = work / f"data-{n}"
    done = folder / "done"
    if done.exists():
        return sorted(folder.glob("*.parquet"))
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    base_rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(base)]).fetchone()[0]
    copies = math.ceil(n / base_rows)
    per_file = max(1, MAX_FILE_ROWS // base_rows)
    written, files = 0, []
    for first in range(0, copies, per_file):
        k = range(first, min(copies, first + per_file))
        rows = min(n - written, len(k) * base_rows)
        path = folder / f"part-{first:05d}.parquet"
        con.execute(
            "COPY (SELECT * REPLACE (BillingAccountId || '-copy-' || k::VARCHAR AS BillingAccountId) "
            "FROM read_parquet(?) , range(?, ?) r(k) ORDER BY k LIMIT ?) TO '"
            + str(path)
            + "' (FORMAT parquet)",
            [str(base), k.start, k.stop, rows],
        )
        written += rows
        files.append(path)
    done.write_text(str(written))
    return files


# -- children --------------------------------------------------------------------------
CHILD_LEDGER = r"""
import sys, time, json
from pathlib import Path
from computeledger import open_ledger
from computeledger.shipped import SYNTH_RULES
backend, path, files = sys.argv[1], sys.argv[2], sys.argv[3:]
def mark(step): print("STEP", step, flush=True)
out = {}
with open_ledger(path, backend=backend) as lg:
    mark("ingest"); t = time.perf_counter()
    results = lg.ingest([Path(f) for f in files])
    out["ingest"] = time.perf_counter() - t
    out["rows"] = sum(r.rows_loaded for r in results)
    print("TIME ingest", out["ingest"], flush=True)
    mark("allocate"); t = time.perf_counter()
    run = lg.allocate(SYNTH_RULES)
    out["allocate"] = time.perf_counter() - t
    out["parts"] = run.parts
    mark("query")
    for by in ("provider,month", "workload,model"):
        lg.summary(by).to_pyarrow()  # warm: file listing, plan caches
        t = time.perf_counter()
        got = lg.summary(by).to_pyarrow()
        out["query " + by] = time.perf_counter() - t
        out["total " + by] = str(sum(got["BilledCost"].to_pylist()))
print("RESULT", json.dumps(out), flush=True)
"""

CHILD_HAND = r"""
import sys, time, json
import duckdb
from computeledger.allocate.gpu import catalogue_table
from computeledger.schema.focus import COLUMNS, Kind
sys.path.insert(0, sys.argv[2])
from allocate import HAND  # bench/allocate.py's hand-written allocation
path, files = sys.argv[1], sys.argv[3:]
def mark(step): print("STEP", step, flush=True)
con = duckdb.connect(path)
con.execute("SET memory_limit = '1GB'"); con.execute("SET enable_progress_bar = false")
out = {}
if files[0] == "--from-ledger":  # no hand ingest: the typed charges taken from computeledger's ledger
    mark("copy"); t = time.perf_counter()
    con.execute("ATTACH '" + files[1].replace("'", "''") + "' AS l (READ_ONLY)")  # ATTACH takes no parameter
    names = ", ".join(f'"{c.name}"' for c in COLUMNS)
    con.execute(f"CREATE TABLE charges AS SELECT x_charge_id, x_extensions, {names} FROM l.charges")
    con.execute("DETACH l")
    out["copy"] = time.perf_counter() - t
    files = []
cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [files[0]]).fetchall()] if files else []
typed = []
for c in COLUMNS:
    if c.name not in cols:
        if c.name in ("ServiceProviderName", "HostProviderName") and "ProviderName" in cols:
            typed.append(f'"ProviderName" AS "{c.name}"')
        elif c.kind is Kind.DECIMAL: typed.append(f'NULL::DECIMAL(38, 18) AS "{c.name}"')
        elif c.kind is Kind.DATETIME: typed.append(f'NULL::TIMESTAMP AS "{c.name}"')
        else: typed.append(f'NULL::VARCHAR AS "{c.name}"')
        continue
    if c.kind is Kind.DECIMAL: typed.append(f'TRY_CAST("{c.name}" AS DECIMAL(38, 18)) AS "{c.name}"')
    elif c.kind is Kind.DATETIME: typed.append(f'TRY_CAST("{c.name}" AS TIMESTAMP) AS "{c.name}"')
    else: typed.append(f'"{c.name}"')
if files:
    mark("ingest"); t = time.perf_counter()
    con.execute("CREATE TABLE charges AS SELECT row_number() OVER () AS x_charge_id, NULL::VARCHAR AS x_extensions, "
                + ", ".join(typed) + " FROM read_parquet(?)", [files])
    out["ingest"] = time.perf_counter() - t
out["rows"] = con.execute("SELECT count(*) FROM charges").fetchone()[0]
con.register("hand_gpus_view", catalogue_table().to_pyarrow())
con.execute("CREATE TABLE hand_gpus AS SELECT * FROM hand_gpus_view")
mark("allocate"); t = time.perf_counter()
con.execute(HAND)
out["allocate"] = time.perf_counter() - t
out["parts"] = con.execute("SELECT count(*) FROM hand_alloc").fetchone()[0]
mark("query")
q = {"provider,month": "SELECT coalesce(HostProviderName, ServiceProviderName) AS provider, date_trunc('month', ChargePeriodStart) AS month, count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost), sum(ContractedCost) FROM charges GROUP BY ALL",
     "workload,model": "SELECT workload, model, count(*), sum(BilledCost), sum(EffectiveCost), sum(gpu_hours) FROM hand_alloc GROUP BY ALL"}
for by, sql in q.items():
    con.execute(sql).fetchall()
    t = time.perf_counter(); con.execute(sql).fetchall(); out["query " + by] = time.perf_counter() - t
print("RESULT", json.dumps(out), flush=True)
"""

CHILD_QUERY = r"""
import sys, time, json
from computeledger import open_ledger
path, copies = sys.argv[1], int(sys.argv[2])
out = {}
with open_ledger(path) as lg:
    raw = lg.con.con
    print("STEP build", flush=True)
    t = time.perf_counter()
    for k in range(1, copies):
        raw.execute("INSERT INTO charges SELECT * REPLACE (x_charge_id + ? AS x_charge_id) FROM charges WHERE x_charge_id < 1e15", [k * 10**15])
        raw.execute("INSERT INTO allocations SELECT * REPLACE (x_charge_id + ? AS x_charge_id) FROM allocations WHERE x_charge_id < 1e15", [k * 10**15])
    raw.execute("UPDATE allocation_runs SET charges = charges * ?, parts = parts * ?", [copies, copies])
    out["build"] = time.perf_counter() - t
    out["rows"] = raw.execute("SELECT count(*) FROM charges").fetchone()[0]
    print("STEP query", flush=True)
    for by in ("provider,month", "workload,model"):
        lg.summary(by).to_pyarrow()
        t = time.perf_counter(); lg.summary(by).to_pyarrow(); out["query " + by] = time.perf_counter() - t
    # by hand, the same sums over the same tables (a fresh allocation: its parts alone)
    version = raw.execute("SELECT rules_version FROM allocation_runs ORDER BY created_at DESC LIMIT 1").fetchone()[0]
    hand = {"provider,month": "SELECT coalesce(HostProviderName, ServiceProviderName), date_trunc('month', ChargePeriodStart), count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost), sum(ContractedCost) FROM charges GROUP BY ALL",
            "workload,model": "SELECT workload, model, count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost), sum(ContractedCost), sum(gpu_hours) FROM allocations WHERE rules_version = ? GROUP BY ALL"}
    for by, sql in hand.items():
        args = [version] if "?" in sql else []
        raw.execute(sql, args).fetchall()
        t = time.perf_counter(); raw.execute(sql, args).fetchall(); out["hand " + by] = time.perf_counter() - t
print("RESULT", json.dumps(out), flush=True)
"""


def tree_rss(pid: int) -> int:
    """Resident KiB of a process and its descendants (/proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
            todo.extend(int(c) for c in children)
        except (OSError, StopIteration):
            continue
    return total


def run_child(code: str, *args: str) -> dict:
    """Run a child, record the peak memory of its process tree per STEP it announces."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    peaks: dict[str, int] = {}
    state = {"step": "start", "result": None}

    def sample() -> None:
        while proc.poll() is None:
            step = state["step"]
            peaks[step] = max(peaks.get(step, 0), tree_rss(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for line in proc.stdout:
        if line.startswith("STEP "):
            state["step"] = line.split()[1]
        elif line.startswith("TIME "):
            print(line.strip(), dict(peaks), flush=True)  # a partial result, should the run stop
        elif line.startswith("RESULT "):
            state["result"] = json.loads(line[7:])
    proc.wait()
    sampler.join()
    if proc.returncode != 0 or state["result"] is None:
        raise SystemExit(f"benchmark child failed ({proc.returncode})")
    out = state["result"]
    out["peak_mib"] = {k: round(v / 1024) for k, v in peaks.items() if k != "start"}
    return out


# -- report ----------------------------------------------------------------------------
def chart(results: list[dict], path: Path) -> None:
    """Seconds against rows, log-log, one line per (run, step): a small hand-made SVG."""
    series: dict[str, list[tuple[int, float]]] = {}
    for r in results:
        for step in ("ingest", "allocate"):
            if step in r and "rows" in r:
                series.setdefault(f"{r['run']} {step}", []).append((r["rows"], r[step]))
    if not series:
        return
    xs = [x for s in series.values() for x, _ in s]
    ys = [y for s in series.values() for _, y in s]
    x0, x1 = math.log10(min(xs)) - 0.1, math.log10(max(xs)) + 0.1
    y0, y1 = math.log10(min(ys)) - 0.2, math.log10(max(ys)) + 0.2
    w, h, m, legend = 800, 400, 60, 160
    px = lambda x: m + (math.log10(x) - x0) / (x1 - x0) * (w - 2 * m - legend)  # noqa: E731
    py = lambda y: h - m - (math.log10(y) - y0) / (y1 - y0) * (h - 2 * m)  # noqa: E731
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="13">Seconds against charge rows (log-log)</text>']  # fmt: skip
    for e in range(math.ceil(x0), math.floor(x1) + 1):
        parts.append(f'<text x="{px(10**e):.0f}" y="{h - m + 18}" text-anchor="middle">1e{e}</text>')
    for e in range(math.ceil(y0), math.floor(y1) + 1):
        parts.append(f'<text x="{m - 8}" y="{py(10**e) + 4:.0f}" text-anchor="end">{10**e:g} s</text>')
        parts.append(
            f'<line x1="{m}" x2="{w - m - legend}" y1="{py(10**e):.0f}" y2="{py(10**e):.0f}" stroke="#eee"/>'
        )
    for i, (name, pts) in enumerate(sorted(series.items())):
        c = colours[i % len(colours)]
        pts = sorted(pts)
        d = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        parts.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="2"/>')
        parts.append(f'<text x="{w - m - legend + 12}" y="{m + 14 * i}" fill="{c}">{name}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts))


def report(results: list[dict]) -> str:
    """The markdown table of docs/benchmarks.md: rows/s per step, ratios to the baseline."""
    by = {(r["run"], r.get("size")): r for r in results}
    lines = ["| rows | step | DuckDB | Spark | hand-written DuckDB | DuckDB / hand | peak MiB DuckDB / Spark / hand |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for n in sorted({r["size"] for r in results if r.get("size")}):
        d, s, h = by.get(("duckdb", n)), by.get(("spark", n)), by.get(("baseline", n))
        for step, label in (("ingest", "ingest"), ("allocate", "allocation")):
            cells = []
            for r in (d, s, h):
                cells.append(
                    f"{r[step]:,.1f} s ({r['rows'] / r[step]:,.0f} rows/s)" if r and step in r else "not run"
                )
            ratio = f"{h[step] / d[step]:.2f}x" if d and h and step in h else ""
            peak = " / ".join(str(r["peak_mib"].get(step, "-")) if r else "-" for r in (d, s, h))
            lines.append(f"| {n:,} | {label} | {' | '.join(cells)} | {ratio} | {peak} |")
        for q, label in QUERIES.items():
            cells = [f"{r['query ' + q]:.2f} s" if r else "not run" for r in (d, s, h)]
            ratio = f"{h['query ' + q] / d['query ' + q]:.2f}x" if d and h else ""
            lines.append(f"| {n:,} | summary {label} | {' | '.join(cells)} | {ratio} | |")
    for r in sorted((r for r in results if r["run"] == "query"), key=lambda r: r["rows"]):
        if r["run"] == "query":
            for q, label in QUERIES.items():
                ratio = r["hand " + q] / r["query " + q]
                lines.append(f"| {r['rows']:,} | summary {label} | {r['query ' + q]:.2f} s | not run | "
                             f"{r['hand ' + q]:.2f} s | {ratio:.2f}x | {r['peak_mib'].get('query', '')} / - / - |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", default="1M,10M", help="sizes for DuckDB and the baseline")
    ap.add_argument("--spark", default="1M", help="sizes for Spark ('' for none)")
    ap.add_argument("--query-rows", default="", help="sizes for the summary queries alone, e.g. 1M,10M,100M")
    ap.add_argument("--queries-only", action="store_true", help="only the queries, on ledgers already built")
    ap.add_argument("--hand-ingest-max", default="10M",
                    help="above this size the baseline does not ingest: it copies computeledger's typed charges")  # fmt: skip
    ap.add_argument(
        "--runs", default="duckdb,baseline,spark", help="which runs to make (Spark only at --spark sizes)"
    )
    ap.add_argument("--append", action="store_true", help="add to --out's results instead of replacing them")
    ap.add_argument("--dir", default=None, help="working folder (default: a temporary one)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "scale.json"))
    ap.add_argument("--report", action="store_true", help="print the table of --out's results and stop")
    args = ap.parse_args()
    if args.report:
        results = json.loads(Path(args.out).read_text())
        print(report(results))
        chart(results, ROOT / "docs" / "scale.svg")
        return
    work = Path(args.dir or tempfile.mkdtemp(prefix="cl-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    base = base_bill(work)
    sizes = sorted(
        {rows_of(s) for s in args.rows.split(",") if s} | {rows_of(s) for s in args.spark.split(",") if s}
    )
    spark = {rows_of(s) for s in args.spark.split(",") if s}
    hand_ingest_max = rows_of(args.hand_ingest_max)
    keep = args.queries_only or args.append
    results = json.loads(Path(args.out).read_text()) if keep and Path(args.out).exists() else []
    wanted = set(args.runs.split(","))
    for n in [] if args.queries_only else sizes:
        files = [str(f) for f in dataset(work, base, n)]
        runs = [("duckdb", CHILD_LEDGER, ["duckdb", str(work / f"ledger-{n}.duckdb"), *files]),
                ("baseline", CHILD_HAND, [str(work / f"hand-{n}.duckdb"), str(ROOT / "bench"), *files])]  # fmt: skip
        # above it, the hand ingest's rate is known from the smaller runs: its hours are not spent again
        if n > hand_ingest_max:
            runs[1][2][2:] = ["--from-ledger", str(work / f"ledger-{n}.duckdb")]
        if n in spark:
            runs.append(("spark", CHILD_LEDGER, ["spark", str(work / f"ledger-{n}-spark"), *files]))
        for name, code, child_args in [r for r in runs if r[0] in wanted]:
            got = run_child(code, *child_args) | {"run": name, "size": n}
            results.append(got)
            print(json.dumps(got), flush=True)
        Path(args.out).write_text(json.dumps(results, indent=1))
    for target in sorted(rows_of(s) for s in args.query_rows.split(",") if s):
        # the largest DuckDB ledger at most the target's size, copied up to it (in place: last)
        source = max((n for n in sizes if n <= target), default=min(sizes))
        copies = math.ceil(target / source)
        got = run_child(CHILD_QUERY, str(work / f"ledger-{source}.duckdb"), str(copies)) | {"run": "query"}
        results.append(got)
        print(json.dumps(got), flush=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    chart(results, ROOT / "docs" / "scale.svg")


if __name__ == "__main__":
    main()
