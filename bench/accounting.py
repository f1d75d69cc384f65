"""Accounting benchmark: the statement (three bases, by month) over a ledger of N charges,
against the same figures by hand in DuckDB SQL, one run, with the process's peak memory.

Run by hand (not in CI):  python bench/accounting.py [--rows 100M] [--dir /big/disk]

Data: the unit-economics benchmark's 10M-charge ledger (bench/economics.py: copies of one
month of the lab's AWS bill, ingested and allocated by the lab's rules), replicated in SQL
to N charges (each copy under its own charge ids and billing accounts, its allocation parts
with it), plus a bank statement that pays each bill. Ours: `gather` + `statement` on the
three bases by month. Hand: the billed, effective and workload sums in one SQL each.
Ratio = hand time / our time.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from economics import build  # noqa: E402
from scale import rows_of  # noqa: E402

HAND = """
WITH k AS (
  SELECT x_charge_id, coalesce(InvoiceIssuerName, ServiceProviderName, HostProviderName) AS provider,
         date_trunc('month', BillingPeriodStart) AS billed_month, date_trunc('month', ChargePeriodStart) AS charge_month,
         BilledCost, EffectiveCost
  FROM charges
), totals AS (
  SELECT provider, billed_month, charge_month, sum(BilledCost) AS billed, sum(EffectiveCost) AS effective
  FROM k GROUP BY ALL
), parts AS (
  SELECT k.provider, k.billed_month, k.charge_month, a.workload, sum(a.BilledCost) AS billed,
         sum(a.EffectiveCost) AS effective
  FROM allocations a JOIN k ON a.x_charge_id = k.x_charge_id
  WHERE a.rules_version = ? AND a.workload IN ('inference', 'training', 'research')
  GROUP BY ALL
)
SELECT 'billed' AS basis, billed_month AS month, 'total' AS workload, sum(billed) FROM totals GROUP BY ALL
UNION ALL SELECT 'effective', charge_month, 'total', sum(effective) FROM totals GROUP BY ALL
UNION ALL SELECT 'billed', billed_month, workload, sum(billed) FROM parts GROUP BY ALL
UNION ALL SELECT 'effective', charge_month, workload, sum(effective) FROM parts GROUP BY ALL
"""


def grow(src: Path, dst: Path, n: int) -> Path:
    """A copy of the 10M ledger replicated to n charges (and its parts), with a bank statement."""
    import duckdb

    if dst.exists():
        return dst
    from computeledger import open_ledger

    shutil.copy(src, dst)
    with open_ledger(dst):  # creates the tables the older ledger lacks (cash, funding)
        pass
    con = duckdb.connect(str(dst))
    base = con.execute("SELECT count(*), max(x_charge_id) FROM charges").fetchone()
    copies = max(1, n // base[0])
    t = time.perf_counter()
    for k in range(1, copies):
        off = k * (base[1] + 1)
        con.execute(f"""INSERT INTO charges SELECT * REPLACE (x_charge_id + {off} AS x_charge_id,
                        BillingAccountId || '-copy{k}' AS BillingAccountId) FROM charges WHERE x_charge_id <= {base[1]}""")
        con.execute(f"""INSERT INTO allocations SELECT * REPLACE (x_charge_id + {off} AS x_charge_id)
                        FROM allocations WHERE x_charge_id <= {base[1]}""")
        print(f"copy {k + 1}/{copies} in {time.perf_counter() - t:.0f} s", flush=True)
    con.execute("""INSERT INTO cash SELECT 0, 'bench-bank.csv', row_number() OVER (), NULL,
                   (billed_month + INTERVAL 1 MONTH + INTERVAL 20 DAY)::DATE, provider, 'cloud_bill',
                   strftime(billed_month, '%Y-%m'), -billed, 'USD', NULL
                   FROM (SELECT coalesce(InvoiceIssuerName, ServiceProviderName) AS provider,
                                date_trunc('month', BillingPeriodStart) AS billed_month, sum(BilledCost) AS billed
                         FROM charges GROUP BY ALL)""")
    con.close()
    return dst


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="100M")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    n = rows_of(args.rows)
    work = Path(args.dir or tempfile.mkdtemp(prefix="cl-accounting-"))
    work.mkdir(parents=True, exist_ok=True)
    path = grow(build(work, min(n, 10_000_000), 1_000_000), work / f"accounting-{n}.duckdb", n)

    from computeledger import open_ledger
    from computeledger.accounting.statement import gather, statement
    from computeledger.allocate.engine import latest_version

    with open_ledger(path, read_only=True) as lg:
        t = time.perf_counter()
        inp = gather(lg)
        got = statement(lg, grain="month", bases=("billed", "effective", "cash"), inputs=inp)
        ours = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        version = latest_version(lg)
        t = time.perf_counter()
        hand_rows = lg.store.raw.execute(HAND, [version]).fetchall()
        hand = time.perf_counter() - t
        charges = lg.charges.count().to_pyarrow().as_py()
    hand_total = {(b, m.date()): v for b, m, w, v in hand_rows if w == "total"}
    for r in got.rows:
        if r["basis"] in ("billed", "effective"):
            from computeledger.accounting.periods import parse

            key = (r["basis"], parse(r["period"])[0])
            assert hand_total.get(key, 0) == r["total_compute"], (
                key,
                hand_total.get(key),
                r["total_compute"],
            )
    print(f"{charges:,} charges; the statement's billed and effective compute equal the hand SQL's")
    print(
        f"statement  ours {ours:6.2f} s  hand SQL {hand:6.2f} s  ratio {hand / ours:.2f}x  peak RSS {peak:.2f} GiB"
    )


if __name__ == "__main__":
    main()
