"""The Google Cloud billing export (issue 31): BigQuery's standard usage cost table as JSON
lines, as Parquet with its nested records, and flattened to CSV, found by its columns and
read through the shipped mapping; each element of a row's `credits` list a Credit charge
of its own. The oracle is the focus_converters GCP rules re-done in plain Python over the
shipped sample, FOCUS 1.3 winning where they differ (credits are Credit charges)."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from computeledger.errors import UsageError
from computeledger.ingest.mapping import load_mapping
from computeledger.shipped import find
from tests.conftest import NATIVE, shared

SAMPLE = find("gcp_billing_export_sample.jsonl", "exports")
CHARGE = {"tax": "Tax", "adjustment": "Adjustment", "rounding_error": "Adjustment"}


def records() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]


def oracle(rows: list[dict]) -> dict[tuple[str, str], tuple[Decimal, int]]:
    """BilledCost and charges per (ServiceCategory, ChargeCategory): the converter's
    category lookup and cost_type rule; each credit its own Credit charge."""
    with shared(NATIVE / "category-mapping" / "gcp_category_mapping.csv").open() as f:
        cats = {row[0]: row[1] for row in list(csv.reader(f))[1:]}
    out: dict[tuple[str, str], tuple[Decimal, int]] = {}

    def add(key: tuple[str, str], amount: object) -> None:
        total, n = out.get(key, (Decimal(0), 0))
        out[key] = (total + Decimal(str(amount)), n + 1)

    for r in rows:
        category = cats.get(r["service"]["description"], "Other")
        add((category, CHARGE.get(r["cost_type"], "Usage")), r["cost"])
        for credit in r["credits"]:
            add((category, "Credit"), credit["amount"])
    return out


def totals(lg) -> dict[tuple[str, str], tuple[Decimal, int]]:
    t = lg.charges
    got = t.group_by(["ServiceCategory", "ChargeCategory"]).aggregate(b=t.BilledCost.sum(), n=t.count())
    return {
        (r["ServiceCategory"], r["ChargeCategory"]): (r["b"], r["n"]) for r in got.to_pyarrow().to_pylist()
    }


def charges(lg) -> list[dict]:
    cols = ["x_source_line", "ChargeCategory", "BilledCost", "EffectiveCost", "ChargePeriodStart", "SkuId",
            "SubAccountId", "RegionId", "ServiceName", "ConsumedQuantity", "ChargeDescription"]  # fmt: skip
    rows = lg.charges.select(*cols).to_pyarrow().to_pylist()
    return sorted(rows, key=lambda r: (r["x_source_line"], r["ChargeCategory"], r["BilledCost"]))


def test_a_gcp_export_in_json_lines_is_found_and_agrees_with_the_converter(ledger):
    rows = records()
    [r] = ledger.ingest([SAMPLE])
    assert (r.status, r.format, r.rows_read, r.rows_unnested, r.rows_loaded, r.rows_quarantined) == (
        "loaded", "jsonl", 8, 4, 12, 0,
    )  # fmt: skip
    assert Path(r.mapping).name == "gcp_billing_export.toml"
    assert totals(ledger) == oracle(rows)
    assert totals(ledger)[("Compute", "Credit")] == (Decimal("-1.423564"), 3)
    # the converter folds credits into EffectiveCost, floored at 0: the same total but for
    # the floor, which drops the rounding row's -0.01 (FOCUS keeps it, docs/native-exports.md)
    folded = sum(
        max(Decimal(str(x["cost"])) + sum(Decimal(str(c["amount"])) for c in x["credits"]), 0) for x in rows
    )
    assert folded == Decimal("7.005094")
    assert ledger.charges.EffectiveCost.sum().to_pyarrow().as_py() == folded - Decimal("0.01")


def test_each_credit_is_a_charge_on_its_records_line_period_and_project(ledger):
    ledger.ingest([SAMPLE])
    t = ledger.charges
    credits = (
        t.filter(t.ChargeCategory == "Credit")
        .order_by(["x_source_line", "BilledCost"])
        .to_pyarrow()
        .to_pylist()
    )
    assert [(c["x_source_line"], c["BilledCost"], c["ChargeDescription"]) for c in credits] == [
        (1, Decimal("-0.586782"), "Sustained usage discount"),
        (2, Decimal("-0.586782"), "Sustained usage discount"),
        (2, Decimal("-0.25"), "Free Trial credit"),
        (3, Decimal("-12.5"), "Promotional credit: Vertex AI"),
    ]
    second = [c for c in credits if c["x_source_line"] == 2]
    assert {c["ChargePeriodStart"] for c in second} == {datetime(2024, 5, 1, 8)}
    assert {(c["SubAccountId"], c["SkuId"], c["ListCost"], c["ConsumedQuantity"]) for c in second} == {
        ("llm-serving-prod", "C7B3-1F1B-2A01", Decimal(0), None)
    }
    assert {json.loads(c["x_extensions"])["x_CreditType"] for c in second} == {
        "SUSTAINED_USAGE_DISCOUNT",
        "FREE_TIER",
    }
    assert len({c["x_charge_id"] for c in t.to_pyarrow().to_pylist()}) == 12


def test_invoice_months_are_pacific_billing_periods(ledger):
    ledger.ingest([SAMPLE])
    t = ledger.charges
    periods = t.select("BillingPeriodStart", "BillingPeriodEnd").distinct().order_by("BillingPeriodStart")
    assert [tuple(p.values()) for p in periods.to_pyarrow().to_pylist()] == [
        (datetime(2024, 5, 1, 7), datetime(2024, 6, 1, 7)),  # PDT
        (datetime(2024, 12, 1, 8), datetime(2025, 1, 1, 8)),  # PST, and the year turns
    ]


def test_parquet_with_nested_records_and_a_flattened_csv_give_the_same_charges(tmp_path):
    from computeledger import open_ledger

    con = duckdb.connect()
    src = f"read_json('{SAMPLE}')"
    parquet, flat = tmp_path / "gcp.parquet", tmp_path / "gcp.csv"
    con.execute(f"COPY (SELECT * FROM {src}) TO '{parquet}' (FORMAT parquet)")
    con.execute(
        "COPY (SELECT billing_account_id, service.id AS service_id, "
        "service.description AS service_description, sku.id AS sku_id, sku.description AS sku_description, "
        "usage_start_time, usage_end_time, project.id AS project_id, location.region AS location_region, "
        "location.location AS location_location, "
        "cost, cost_at_list, currency, usage.amount AS usage_amount, usage.unit AS usage_unit, "
        "to_json(credits) AS credits, invoice.month AS invoice_month, cost_type "
        f"FROM {src}) TO '{flat}' (HEADER)"
    )
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM '{parquet}'").fetchall()}
    assert (
        types["service"].startswith("STRUCT")
        and types["credits"].startswith("STRUCT")
        and "[]" in types["credits"]
    )
    got = {}
    for k, name in enumerate(("json", parquet, flat)):
        with open_ledger(tmp_path / f"ledger{k}.duckdb") as lg:
            [r] = lg.ingest([SAMPLE if name == "json" else name])
            assert (r.status, r.rows_read, r.rows_unnested, r.rows_loaded) == ("loaded", 8, 4, 12)
            got[str(name)] = charges(lg)
    assert got[str(parquet)] == got["json"]
    # a CSV's records start on line 2, below its header
    assert [{**c, "x_source_line": c["x_source_line"] - 1} for c in got[str(flat)]] == got["json"]


def write_lines(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_damaged_lines_are_quarantined_with_line_and_reason(ledger, tmp_path):
    rows: list[object] = list(records())
    rows[1] = {**rows[1], "credits": "not a list"}  # line 2: its credits cannot be read
    rows[2] = {**rows[2], "credits": [{**rows[2]["credits"][0], "amount": "12,50"}]}  # line 3
    rows.insert(4, '{"billing_account_id": "01ABCD", "cost": ')  # line 5: cut short
    rows.insert(5, '{"cost": 0.12345678901234567891}')  # line 6: beyond a double
    [r] = ledger.ingest([write_lines(tmp_path / "billing.jsonl", rows)])
    assert (r.status, r.rows_read, r.rows_unnested) == ("loaded", 10, 2)
    assert (r.rows_loaded, r.rows_quarantined) == (8, 4)
    q = {x["source_line"]: x["reason"] for x in ledger.quarantine.to_pyarrow().to_pylist()}
    assert sorted(q) == [2, 3, 5, 6]
    assert "BilledCost" in q[2] and "credits: not a JSON list of objects: not a list" in q[2]
    assert "BilledCost" in q[3] and "12,50" in q[3]
    assert q[5] == "row cannot be read: not JSON"
    assert "more than 17 significant digits" in q[6]
    t = ledger.charges
    # line 3's record loads; its credit alone is quarantined
    assert t.filter(t.x_source_line == 3).ChargeCategory.to_pyarrow().to_pylist() == ["Usage"]


def test_a_gcp_export_missing_a_column_or_cut_short_is_refused_and_changes_nothing(ledger, tmp_path):
    rows = [{k: v for k, v in r.items() if k != "cost"} for r in records()]
    [r] = ledger.ingest([write_lines(tmp_path / "billing.jsonl", rows)])
    assert r.status == "refused" and "gcp-billing-export" in r.message and "cost" in r.message
    cut = tmp_path / "billing.jsonl.gz"
    cut.write_bytes(gzip.compress(SAMPLE.read_bytes() * 40)[:3000])
    [r] = ledger.ingest([cut])
    assert (r.status, r.format) == ("refused", "jsonl.gz") and r.message
    assert ledger.charges.count().to_pyarrow().as_py() == 0


def test_json_lines_of_usage_records_or_a_manifest_are_not_bills(tmp_path):
    from computeledger.ingest.focus import cost_report

    usage = write_lines(tmp_path / "usage.jsonl", [{"model": "m", "input_tokens": 3, "output_tokens": 4}])
    pretty = tmp_path / "doc.json"
    pretty.write_text(json.dumps({"a": 1}, indent=2))
    manifest = write_lines(tmp_path / "manifest.json", [{"exportConfig": {}}])
    assert [cost_report(p) for p in (usage, pretty, manifest, SAMPLE)] == [None, None, None, "jsonl"]


@pytest.mark.parametrize(
    ("unnest", "said"),
    [
        ("[unnest.a]\nfields = []\n[unnest.a.constants]\nChargeCategory = 'Credit'", "fields must list"),
        ("[unnest.a]\nfields = ['x']\n[unnest.b]\nfields = ['y']", "names one list column"),
        ("[unnest.a]\nfields = ['x']\nwhere = 'y'", "unknown entry 'where'"),
        ("[unnest.a]\nfields = ['x']", "give the targets"),
        ("[unnest.a]\nfields = ['x']\n[unnest.a.expressions]\nCost = 'a_x'", "not a FOCUS column"),
        ("[unnest.a]\nfields = ['x']\n[unnest.a.expressions]\nBilledCost = 'exp(a_x)'", "not allowed"),
    ],
)
def test_a_bad_unnest_section_is_refused_naming_it(tmp_path, unnest, said):
    path = tmp_path / "m.toml"
    path.write_text(f"[columns]\nBillingAccountId = 'acct'\n{unnest}\n")
    with pytest.raises(UsageError, match=said) as got:
        load_mapping(path)
    assert str(path) in str(got.value)


def test_a_shipped_gcp_mapping_reads_its_element_fields_through_snake_names():
    m = load_mapping("gcp-billing-export")
    assert m.unnest is not None and m.unnest.column == "credits"
    assert {"credits_amount", "credits_type", "credits"} <= m.source_columns()
