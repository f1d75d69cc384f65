"""Unit economics benchmark: `unit-costs` and `margin` over a ledger of N charges (allocated
by the lab's rules) and M usage records, against the same figures by hand in DuckDB SQL.

Run by hand (not in CI):  python bench/economics.py [--rows 10M] [--usage 1M] [--dir /big/disk]

Data: the scale benchmark's charges (copies of one month of the lab's AWS bill under
distinct billing accounts), ingested and allocated; M OpenAI-style usage records of the
lab's models over that month for 1,000 customers on two channels; one invoice line per
model, customer and token kind. The timed steps run in one process on the built ledger:
ours (`unit_costs(..., "model,month")`, `margin(..., "model,month")`), then the hand SQL
(the same joins and sums, divisions in DuckDB). Ratio = hand time / our time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from scale import base_bill, dataset, rows_of  # noqa: E402

USAGE_SQL = """
COPY (
  SELECT 'organization.usage.completions.result' AS object,
         1704067200 + (i % 31) * 86400 AS start_time, 1704067200 + (i % 31 + 1) * 86400 AS end_time,
         'c' || (i % 1000)::VARCHAR AS project_id,
         ['atlas-l', 'swift-s', 'embed-e'][1 + i % 3] AS model,
         1 + i % 7 AS num_model_requests, 1000 + i % 5000 AS input_tokens, (i % 5000) // 3 AS input_cached_tokens,
         CASE WHEN i % 3 = 2 THEN 0 ELSE 200 + i % 900 END AS output_tokens, 0 AS output_reasoning_tokens,
         {'channel': CASE WHEN i % 2 = 0 THEN 'api' ELSE 'app' END} AS metadata
  FROM range(?) t(i)
) TO '{path}' (FORMAT json)
"""

HAND_UNIT = """
WITH cost AS (
  SELECT a.model, date_trunc('month', c.ChargePeriodStart) AS month, sum(a.EffectiveCost) AS cost,
         sum(a.gpu_hours) AS gpu_hours
  FROM allocations a JOIN charges c ON a.x_charge_id = c.x_charge_id
  WHERE a.rules_version = ? AND a.workload = 'inference'
  GROUP BY ALL
), tok AS (
  SELECT model, date_trunc('month', period_start) AS month, sum(requests) AS requests,
         sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
  FROM usage GROUP BY ALL
)
SELECT coalesce(cost.model, tok.model) AS model, coalesce(cost.month, tok.month) AS month, cost, gpu_hours,
       requests, input_tokens, output_tokens,
       cost * 1000000 / (input_tokens + output_tokens) AS cost_per_million_tokens,
       gpu_hours * 1000000 / (input_tokens + output_tokens) AS gpu_hours_per_million_tokens
FROM cost FULL JOIN tok ON cost.model = tok.model AND cost.month = tok.month
"""

HAND_MARGIN = f"""
WITH unit AS ({HAND_UNIT}),
rev AS (SELECT model, date_trunc('month', period_start) AS month, sum(amount) AS revenue
        FROM revenue_lines GROUP BY ALL),
share AS (SELECT model, date_trunc('month', period_start) AS month, sum(amount) AS share
          FROM revenue_share GROUP BY ALL)
SELECT coalesce(unit.model, rev.model) AS model, coalesce(unit.month, rev.month) AS month, revenue,
       coalesce(share, 0) AS share, cost, revenue - coalesce(share, 0) - cost AS gross_margin,
       (revenue - coalesce(share, 0) - cost) * 100 / revenue AS margin_pct,
       revenue * 1000000 / (input_tokens + output_tokens) AS revenue_per_million_tokens
FROM unit FULL JOIN rev ON unit.model = rev.model AND unit.month = rev.month
LEFT JOIN share ON share.model = coalesce(unit.model, rev.model) AND share.month = coalesce(unit.month, rev.month)
"""


def build(work: Path, n: int, m: int) -> Path:
    """The ledger: N charges ingested and allocated, M usage records, the invoices."""
    import duckdb

    from computeledger import open_ledger
    from computeledger.shipped import SYNTH_RULES

    path = work / f"economics-{n}-{m}.duckdb"
    if path.exists():
        return path
    files = dataset(work, base_bill(work), n)
    usage = work / f"usage-{m}.jsonl"
    duckdb.execute(USAGE_SQL.replace("{path}", str(usage)), [m])
    invoices = work / "invoices.csv"
    duckdb.execute(
        "COPY (SELECT 'INV-' || c || '-' || model AS invoice_id, 'c' || c AS customer, "
        "CASE WHEN c % 2 = 0 THEN 'api' ELSE 'app' END AS channel, DATE '2024-01-01' AS period_start, "
        "DATE '2024-02-01' AS period_end, model, 'output' AS item, 1000000 AS quantity, '1M tokens' AS unit, "
        "5.00 AS unit_price, 5.00 AS amount, 'USD' AS currency "
        "FROM range(1000) r(c), (VALUES ('atlas-l'), ('swift-s'), ('embed-e')) v(model)) TO '"
        + str(invoices) + "' (HEADER)"
    )  # fmt: skip
    t = time.perf_counter()
    with open_ledger(path) as lg:
        lg.ingest(files)
        lg.allocate(SYNTH_RULES)
        lg.ingest_usage([usage])
        lg.ingest_revenue([invoices])
    print(f"built the ledger in {time.perf_counter() - t:.0f} s", flush=True)
    return path


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    got = fn()
    return time.perf_counter() - t, got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="10M")
    ap.add_argument("--usage", default="1M")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    n, m = rows_of(args.rows), rows_of(args.usage)
    work = Path(args.dir or tempfile.mkdtemp(prefix="cl-economics-"))
    work.mkdir(parents=True, exist_ok=True)
    path = build(work, n, m)

    from computeledger import open_ledger
    from computeledger.allocate.engine import latest_version

    with open_ledger(path, read_only=True) as lg:
        raw = lg.store.raw
        version = latest_version(lg)
        ours_u, u = timed(lambda: lg.unit_costs("model,month"))
        hand_u, hu = timed(lambda: raw.execute(HAND_UNIT, [version]).fetchall())
        ours_m, mg = timed(lambda: lg.margin("model,month"))
        hand_m, hm = timed(lambda: raw.execute(HAND_MARGIN, [version]).fetchall())
        charges = lg.charges.count().to_pyarrow().as_py()
        usage = lg.usage.count().to_pyarrow().as_py()
    ours_cost = {(r["model"], r["month"]): r["inference_cost"] for r in u.rows if r["inference_cost"]}
    hand_cost = {(r[0], r[1].date()): r[2] for r in hu if r[2] is not None}
    assert ours_cost == hand_cost, (ours_cost, hand_cost)
    print(f"{charges:,} charges, {usage:,} usage records; the same inference cost per model-month")
    print(f"unit-costs  ours {ours_u:6.2f} s  hand SQL {hand_u:6.2f} s  ratio {hand_u / ours_u:.2f}x")
    print(f"margin      ours {ours_m:6.2f} s  hand SQL {hand_m:6.2f} s  ratio {hand_m / ours_m:.2f}x")
    print(f"rows: unit-costs {len(u.rows)} (hand {len(hu)}), margin {len(mg.rows)} (hand {len(hm)})")


if __name__ == "__main__":
    main()
