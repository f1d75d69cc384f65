"""Ingest benchmark: computeledger against plain DuckDB on the same FOCUS 1.2 CSV.

Run by hand (not in CI):  python bench/ingest.py [--rows 5000000] [--keep]

Generates an N-row FOCUS 1.2 CSV (about 45 columns, JSON tags, quoted text), then
runs, each in its own process so that peak memory is its own:
  1. computeledger: ingest into a fresh ledger file (all checks, quarantine, provenance);
  2. baseline: plain DuckDB `CREATE TABLE t AS SELECT * FROM read_csv(file)` into a fresh file.
Prints rows/s of each, their ratio and the peak resident memory of each.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GENERATE = r"""
COPY (
  SELECT
    '2024-' || lpad((1 + i % 12)::VARCHAR, 2, '0') || '-01T00:00:00Z' AS BillingPeriodStart,
    CASE WHEN i % 12 = 11 THEN '2025-01-01T00:00:00Z'
         ELSE '2024-' || lpad((2 + i % 12)::VARCHAR, 2, '0') || '-01T00:00:00Z' END AS BillingPeriodEnd,
    strftime(TIMESTAMP '2024-01-01' + INTERVAL (i % 12) MONTH + INTERVAL (i % 600) HOUR, '%Y-%m-%dT%H:%M:%SZ') AS ChargePeriodStart,
    strftime(TIMESTAMP '2024-01-01' + INTERVAL (i % 12) MONTH + INTERVAL (i % 600 + 1) HOUR, '%Y-%m-%dT%H:%M:%SZ') AS ChargePeriodEnd,
    'acct-' || (i % 7)::VARCHAR AS BillingAccountId,
    'Lab ' || (i % 7)::VARCHAR AS BillingAccountName,
    'Enterprise' AS BillingAccountType,
    'USD' AS BillingCurrency,
    round((i % 100000) * 0.0123456789, 10) AS BilledCost,
    round((i % 100000) * 0.0111111111, 10) AS EffectiveCost,
    round((i % 100000) * 0.0150000000, 10) AS ListCost,
    round((i % 100000) * 0.0133333333, 10) AS ContractedCost,
    CASE WHEN i % 50 = 0 THEN 'Purchase' WHEN i % 97 = 0 THEN 'Credit' ELSE 'Usage' END AS ChargeCategory,
    NULL AS ChargeClass,
    'GPU instance hour ' || (i % 13)::VARCHAR AS ChargeDescription,
    'Usage-Based' AS ChargeFrequency,
    NULL AS CommitmentDiscountCategory, NULL AS CommitmentDiscountId, NULL AS CommitmentDiscountName,
    NULL AS CommitmentDiscountQuantity, NULL AS CommitmentDiscountStatus, NULL AS CommitmentDiscountType,
    NULL AS CommitmentDiscountUnit,
    round(1 + i % 24, 6) AS ConsumedQuantity,
    'Hours' AS ConsumedUnit,
    round(2.5 + (i % 7) * 0.25, 4) AS ContractedUnitPrice,
    'INV-' || (i % 12)::VARCHAR AS InvoiceId,
    ['Microsoft', 'Amazon Web Services, Inc.', 'Google', 'Oracle'][1 + i % 4] AS InvoiceIssuerName,
    round(3.0 + (i % 7) * 0.25, 4) AS ListUnitPrice,
    'Standard' AS PricingCategory,
    'USD' AS PricingCurrency,
    round(1 + i % 24, 6) AS PricingQuantity,
    'Hours' AS PricingUnit,
    ['Microsoft', 'AWS', 'Google Cloud', 'Oracle'][1 + i % 4] AS ProviderName,
    ['Microsoft', 'AWS', 'Google Cloud', 'Oracle'][1 + i % 4] AS PublisherName,
    ['eastus', 'us-east-1', 'us-central1', 'us-ashburn-1'][1 + i % 4] AS RegionId,
    'Region ' || (i % 4)::VARCHAR AS RegionName,
    '/subscriptions/s' || (i % 50)::VARCHAR || '/vm/gpu-node-' || (i % 5000)::VARCHAR AS ResourceId,
    'gpu-node-' || (i % 5000)::VARCHAR AS ResourceName,
    'Virtual Machine' AS ResourceType,
    'Compute' AS ServiceCategory,
    'Virtual Machines' AS ServiceName,
    'Virtual Machines' AS ServiceSubcategory,
    'sku-' || (i % 40)::VARCHAR AS SkuId,
    'sku-' || (i % 40)::VARCHAR || '-price' AS SkuPriceId,
    '{"GpuCount": 8, "InstanceType": "ND96isr_H100_v5"}' AS SkuPriceDetails,
    'sub-' || (i % 50)::VARCHAR AS SubAccountId,
    'Team ' || (i % 50)::VARCHAR AS SubAccountName,
    '{"workload": "' || ['inference', 'training', 'research'][1 + i % 3] || '", "model": "m' || (i % 5)::VARCHAR || '", "team": "t' || (i % 9)::VARCHAR || '"}' AS Tags
  FROM range({rows}) t(i)
) TO '{path}' (HEADER, DELIMITER ',')
"""

CHILD_COMPUTELEDGER = """
import sys
from computeledger import open_ledger
with open_ledger(sys.argv[1]) as lg:
    r = lg.ingest([sys.argv[2]])[0]
assert r.status == "loaded" and r.rows_loaded == int(sys.argv[3]), r
"""

CHILD_DUCKDB = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
con.execute("SET memory_limit = '1GB'")
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [sys.argv[2]])
assert con.execute("SELECT count(*) FROM t").fetchone()[0] == int(sys.argv[3])
"""


def run_child(code: str, *args: str) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of a child Python process running `code`."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args])
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"benchmark child failed with status {status}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--dir", default=None, help="working folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()

    import duckdb

    work = Path(args.dir or tempfile.mkdtemp(prefix="cl-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / f"focus12_{args.rows}.csv"
    if not csv_path.exists():
        t = time.perf_counter()
        duckdb.execute(GENERATE.replace("{rows}", str(args.rows)).replace("{path}", str(csv_path)))
        print(f"generated {args.rows:,} rows, {csv_path.stat().st_size / 2**20:,.0f} MiB "
              f"in {time.perf_counter() - t:.1f}s")  # fmt: skip
    rows = str(args.rows)
    runs = {}
    for name, code in (("duckdb", CHILD_DUCKDB), ("computeledger", CHILD_COMPUTELEDGER)):
        db = work / f"{name}.duckdb"
        for f in (db, Path(str(db) + ".wal")):
            f.unlink(missing_ok=True)
        runs[name] = run_child(code, str(db), str(csv_path), rows)
        secs, rss = runs[name]
        print(f"{name:14s} {secs:8.1f} s {args.rows / secs:12,.0f} rows/s  peak {rss:8,.0f} MiB")
    ratio = runs["duckdb"][0] / runs["computeledger"][0]
    print(f"ratio (computeledger speed / plain DuckDB speed): {ratio:.2f}x")
    if not args.keep:
        for f in work.iterdir():
            f.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
