"""Allocation benchmark: `allocate` rows/s against the same rules written by hand in DuckDB SQL.

Run by hand (not in CI):  python bench/allocate.py [--scale 100] [--months 12]

A synthetic lab is generated and ingested once; then, in the same run and on the same
ledger, computeledger's allocation (the shipped rules for the lab) and a hand-written
plain-DuckDB version of the same rules (CASE expressions, a GROUP BY for the drivers, a
window for the last part) each build their allocation table. Both results are checked to
agree on the totals per workload before the ratio is printed.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from computeledger import open_ledger
from computeledger.allocate.gpu import catalogue_table
from computeledger.shipped import INVOICE_MAPPING, SYNTH_RULES
from computeledger.synth import generate

NAMES = r"^(inf|tra|res)(?:-(.+))?-node-\d+$"

HAND = f"""
CREATE OR REPLACE TABLE hand_direct AS
WITH t AS (
  SELECT c.*,
    json_extract_string(lower(Tags), '$.workload') AS tw,
    json_extract_string(lower(Tags), '$.model') AS tm,
    json_extract_string(lower(Tags), '$.team') AS tt,
    nullif(regexp_extract(ResourceName, '{NAMES}', 1), '') AS nk,
    nullif(regexp_extract(ResourceName, '{NAMES}', 2), '') AS nm,
    coalesce(TRY_CAST(json_extract_string(SkuPriceDetails, '$.GpuCount') AS INTEGER),
             TRY_CAST(json_extract_string(x_extensions, '$.x_GpuCount') AS INTEGER), g.cl_gpus) AS gpus
  FROM charges c
  LEFT JOIN hand_gpus g ON g.cl_instance = lower(coalesce(
    json_extract_string(SkuPriceDetails, '$.InstanceType'),
    json_extract_string(x_extensions, '$.x_InstanceType'), SkuId))
), w AS (
  SELECT *,
    CASE WHEN regexp_matches(tw, '^(inference|training|research)$') THEN tw
         WHEN nk IS NOT NULL THEN CASE nk WHEN 'inf' THEN 'inference' WHEN 'tra' THEN 'training' ELSE 'research' END
         WHEN CommitmentDiscountStatus = 'Unused' OR ChargeCategory IN ('Credit', 'Purchase', 'Tax')
              OR ServiceCategory IN ('Storage', 'Networking') THEN 'shared'
         ELSE 'unallocated' END AS workload
  FROM t
)
SELECT x_charge_id, coalesce(HostProviderName, ServiceProviderName) AS provider,
  CAST(date_trunc('month', ChargePeriodStart) AS DATE) AS month, workload,
  CASE WHEN regexp_matches(tw, '^(inference|training|research)$') AND nullif(trim(tm), '') IS NOT NULL THEN trim(tm)
       WHEN nk IS NOT NULL AND nm IS NOT NULL THEN nm ELSE 'unallocated' END AS model,
  CASE WHEN regexp_matches(tw, '^(inference|training|research)$') AND nullif(trim(tt), '') IS NOT NULL THEN trim(tt)
       WHEN nk IS NOT NULL THEN CASE nk WHEN 'inf' THEN 'serving' WHEN 'tra' THEN 'pretraining' ELSE 'research' END
       WHEN CommitmentDiscountStatus = 'Unused' THEN 'platform'
       WHEN ChargeCategory IN ('Credit', 'Purchase', 'Tax') THEN 'finance'
       WHEN ServiceCategory IN ('Storage', 'Networking') THEN 'platform'
       WHEN regexp_matches(tw, '.') AND nullif(trim(tt), '') IS NOT NULL THEN trim(tt)
       ELSE 'unallocated' END AS team,
  CASE WHEN regexp_matches(BillingAccountId, '.') THEN 'production' ELSE 'unallocated' END AS environment,
  CASE WHEN CommitmentDiscountStatus = 'Unused' THEN 'idle'
       WHEN workload = 'shared' THEN 'platform' END AS split,
  BilledCost, EffectiveCost, ListCost, ContractedCost,
  CASE WHEN ChargeCategory <> 'Usage' OR CommitmentDiscountStatus = 'Unused'
            OR (ChargeClass = 'Correction' AND ConsumedQuantity IS NULL)
            OR (gpus IS NULL AND coalesce(ServiceCategory, '') <> 'Compute') THEN 0
       WHEN lower(trim(ConsumedUnit)) IN ('hours', 'hour', 'hrs', 'hr', '1 hour', 'instance-hours', 'instance hours')
            AND gpus IS NOT NULL THEN ConsumedQuantity * gpus END AS gpu_hours
FROM w;

CREATE OR REPLACE TABLE hand_shares AS
WITH weights AS (
  SELECT 'idle' AS split, provider, month, workload, model, team, environment, sum(coalesce(gpu_hours, 0)) AS w
  FROM hand_direct WHERE split IS NULL AND workload = 'inference' GROUP BY ALL
  UNION ALL
  SELECT 'platform', provider, month, workload, model, team, environment, sum(coalesce(gpu_hours, 0))
  FROM hand_direct WHERE split IS NULL AND workload IN ('inference', 'training', 'research') GROUP BY ALL
)
SELECT *, row_number() OVER (PARTITION BY split, provider, month ORDER BY workload, model, team, environment) AS part,
  count(*) OVER (PARTITION BY split, provider, month) AS n_parts,
  CAST(w / sum(w) OVER (PARTITION BY split, provider, month) AS DECIMAL(13, 12)) AS share
FROM weights WHERE w > 0;

CREATE OR REPLACE TABLE hand_alloc AS
WITH p AS (
  SELECT d.x_charge_id, s.part, s.n_parts, s.workload, s.model, s.team, s.environment, s.share,
    d.BilledCost AS b, CAST(CAST(d.BilledCost AS DECIMAL(38, 12)) * s.share AS DECIMAL(38, 18)) AS pb,
    d.EffectiveCost AS e, CAST(CAST(d.EffectiveCost AS DECIMAL(38, 12)) * s.share AS DECIMAL(38, 18)) AS pe
  FROM hand_direct d JOIN hand_shares s ON s.split = d.split AND s.provider = d.provider AND s.month = d.month
)
SELECT x_charge_id, 0 AS part, workload, model, team, environment, BilledCost, EffectiveCost, gpu_hours
FROM hand_direct d
WHERE split IS NULL OR NOT EXISTS (
  SELECT 1 FROM hand_shares s WHERE s.split = d.split AND s.provider = d.provider AND s.month = d.month)
UNION ALL
SELECT x_charge_id, part, workload, model, team, environment,
  CASE WHEN part = n_parts THEN b - sum(CASE WHEN part = n_parts THEN 0 ELSE pb END) OVER (PARTITION BY x_charge_id)
       ELSE pb END,
  CASE WHEN part = n_parts THEN e - sum(CASE WHEN part = n_parts THEN 0 ELSE pe END) OVER (PARTITION BY x_charge_id)
       ELSE pe END,
  0
FROM p;
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scale", default="100")
    ap.add_argument("--months", type=int, default=12)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cl-alloc-"))
    try:
        generate(work / "lab", months=args.months, scale=args.scale, seed=7)
        with open_ledger(work / "ledger.duckdb") as lg:
            start = time.perf_counter()
            lg.ingest([work / "lab" / "focus"])
            lg.ingest([work / "lab" / "invoices"], mapping=INVOICE_MAPPING)
            rows = lg.charges.count().execute()
            print(f"ingest {rows:,} charges: {time.perf_counter() - start:.1f} s")
            shutil.rmtree(work / "lab")
            raw = lg.con.con
            raw.register("hand_gpus_view", catalogue_table().to_pyarrow())
            raw.execute("CREATE OR REPLACE TABLE hand_gpus AS SELECT * FROM hand_gpus_view")

            start = time.perf_counter()
            raw.execute(HAND)
            hand = time.perf_counter() - start
            start = time.perf_counter()
            run = lg.allocate(SYNTH_RULES)
            ours = time.perf_counter() - start

            mine = dict(
                raw.execute(
                    "SELECT workload, sum(EffectiveCost) FROM allocations WHERE rules_version = ? GROUP BY 1",
                    [run.version],
                ).fetchall()
            )
            theirs = dict(
                raw.execute("SELECT workload, sum(EffectiveCost) FROM hand_alloc GROUP BY 1").fetchall()
            )
            agree = all(abs(mine[k] - theirs.get(k, 0)) < 1e-6 for k in mine) and set(mine) == set(theirs)
            print(f"hand-written DuckDB SQL: {hand:.2f} s, {rows / hand:,.0f} rows/s")
            print(f"computeledger allocate:  {ours:.2f} s, {rows / ours:,.0f} rows/s ({run.parts:,} parts)")
            print(f"ratio (ours / hand speed): {hand / ours:.2f}x; results agree per workload: {agree}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
