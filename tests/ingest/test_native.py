"""Native cloud exports (AWS CUR, Azure cost details, OCI cost reports) found by their
columns and read through their shipped mappings (issue 31). The oracles are the
FinOps Foundation focus_converters' rules, re-done here in plain Python over the vendored
samples: totals per service category and charge category to the last digit."""

from __future__ import annotations

import csv
import gzip
import io
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import NATIVE, shared

AWS = NATIVE / "aws" / "sample-anonymous-aws-export-dataset.csv.gz"
AZURE = NATIVE / "azure" / "sample-anonymous-ea-export-dataset.csv"
OCI = NATIVE / "oci" / "reports_cost-csv_0000000030000269.redacted.csv.gz"
TOOLKIT = NATIVE.parent / "finops-toolkit"
ULP = Decimal("1e-18")


def rows_of(path: Path) -> list[dict[str, str]]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def categories(name: str) -> dict[str, str]:
    with shared(NATIVE / "category-mapping" / f"{name}_category_mapping.csv").open() as f:
        return {row[0]: row[1] for row in list(csv.reader(f))[1:]}


def stored(text: str) -> Decimal:
    """A source amount as the ledger keeps it: half-even at the 18th place."""
    return Decimal(text).quantize(ULP, rounding=ROUND_HALF_EVEN)


def ledger_totals(lg) -> dict[tuple[str, str], tuple[Decimal, Decimal, int]]:
    t = lg.charges
    rows = (
        t.group_by(["ServiceCategory", "ChargeCategory"])
        .aggregate(billed=t.BilledCost.sum(), effective=t.EffectiveCost.sum(), n=t.count())
        .to_pyarrow()
        .to_pylist()
    )
    return {(r["ServiceCategory"], r["ChargeCategory"]): (r["billed"], r["effective"], r["n"]) for r in rows}


def add(out: dict, key: tuple[str, str], billed: str, effective: str) -> None:
    b, e, n = out.get(key, (Decimal(0), Decimal(0), 0))
    out[key] = (b + stored(billed), e + stored(effective), n + 1)


#: focus_converters' AWS ChargeCategory rule, FOCUS 1.3 winning for Credit and Refund
AWS_CHARGE = {
    "Tax": "Tax", "Fee": "Purchase", "SavingsPlanUpfrontFee": "Purchase", "RIFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase", "Usage": "Usage", "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage", "DiscountedUsage": "Usage", "BundledDiscount": "Usage",
    "Discount": "Usage", "PrivateRateDiscount": "Usage", "EdpDiscount": "Usage", "Credit": "Credit",
    "Refund": "Adjustment",
}  # fmt: skip


def aws_oracle(rows: list[dict[str, str]]) -> dict:
    """The converter's BilledCost (net unblended, else unblended), EffectiveCost (its CASE
    by line item type) and categories, per (ServiceCategory, ChargeCategory)."""
    cats, out = categories("aws"), {}
    for r in rows:
        kind = r["lineItem/LineItemType"]
        billed = r.get("lineItem/NetUnblendedCost") or r["lineItem/UnblendedCost"]
        effective = {
            "SavingsPlanCoveredUsage": r.get("savingsPlan/SavingsPlanEffectiveCost"),
            "DiscountedUsage": r.get("reservation/EffectiveCost"),
            "SavingsPlanNegation": "0",
            "SavingsPlanUpfrontFee": "0",
        }.get(kind, r["lineItem/UnblendedCost"])
        add(out, (cats.get(r["lineItem/ProductCode"], "Other"), AWS_CHARGE[kind]), billed, effective)
    return out


def test_an_aws_cur_is_found_by_its_columns_and_agrees_with_the_converter(ledger):
    [r] = ledger.ingest([shared(AWS)])
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 1281, 1281, 0)
    assert Path(r.mapping).name == "aws_cur.toml" and r.mapping_sha256
    got = ledger_totals(ledger)
    assert got == aws_oracle(rows_of(AWS))
    assert len(got) == 15 and sum(n for _, _, n in got.values()) == 1281
    one = ledger.charges.filter(ledger.charges.ChargeCategory == "Usage").limit(1).to_pyarrow().to_pylist()[0]
    assert one["ServiceProviderName"] == "AWS" and one["BillingAccountId"].isdigit()
    assert str(one["BillingPeriodStart"]) == "2023-11-01 00:00:00"
    assert '"x_lineItem/UsageType"' in one["x_extensions"]  # what FOCUS lacks is kept


def snake_spelt(name: str) -> str:
    """CUR 2.0's spelling of a legacy CUR column (an underscore before each capital, the
    slash an underscore, all lower case), written out here character by character."""
    out = []
    for i, ch in enumerate(name):
        if ch == "/":
            out.append("_")
        elif ch.isupper():
            out.append(("_" if i and name[i - 1] != "/" else "") + ch.lower())
        else:
            out.append(ch)
    return "".join(out)


@pytest.mark.slow  # three ledgers of the 1,281-row CUR
def test_cur_2_spelling_in_csv_and_parquet_gives_the_same_charges(tmp_path):
    from computeledger import open_ledger

    rows = rows_of(shared(AWS))
    names = {c: snake_spelt(c) for c in rows[0]}
    assert names["lineItem/UnblendedCost"] == "line_item_unblended_cost"
    assert names["savingsPlan/SavingsPlanARN"] == "savings_plan_savings_plan_a_r_n"
    table = pa.table({names[c]: pa.array([r[c] or None for r in rows], pa.string()) for c in rows[0]})
    pq.write_table(table, tmp_path / "cur2.parquet")
    with (tmp_path / "cur2.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(names.values())
        w.writerows([r[c] for c in rows[0]] for r in rows)
    focus = ["BilledCost", "EffectiveCost", "ListCost", "ChargeCategory", "ServiceCategory", "ServiceName",
             "ChargePeriodStart", "ResourceId", "PricingQuantity", "x_source_line"]  # fmt: skip
    got = {}
    for name in ("legacy", "cur2.csv", "cur2.parquet"):
        with open_ledger(tmp_path / f"{name}.duckdb") as lg:
            [r] = lg.ingest([AWS if name == "legacy" else tmp_path / name])
            assert (r.status, r.rows_loaded, Path(r.mapping).name) == ("loaded", 1281, "aws_cur.toml"), (
                r.message
            )
            got[name] = lg.charges.select(*focus).order_by("x_source_line").to_pyarrow().to_pylist()
    assert got["cur2.csv"] == got["legacy"]
    assert [{**x, "x_source_line": None} for x in got["cur2.parquet"]] == [
        {**x, "x_source_line": None} for x in got["legacy"]
    ]


def azure_oracle(rows: list[dict[str, str]], cost: str = "CostInBillingCurrency") -> dict:
    """focus_converters' Azure rules: cost as billed and effective; the category by
    ConsumedService (matched without case: the files write Microsoft.Compute)."""
    cats = {k.lower(): v for k, v in categories("azure").items()}
    charge = {"Usage": "Usage", "UnusedReservation": "Usage", "UnusedSavingsPlan": "Usage",
              "Purchase": "Purchase", "Tax": "Tax"}  # fmt: skip
    out: dict = {}
    for r in rows:
        key = (cats.get(r["ConsumedService"].lower(), "Other"), charge[r["ChargeType"]])
        add(out, key, r[cost], r[cost])
    return out


def test_an_azure_ea_export_is_found_and_agrees_with_the_converter(ledger):
    [r] = ledger.ingest([shared(AZURE)])
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 27, 0), r.message
    assert Path(r.mapping).name == "azure_cost_details.toml"
    assert ledger_totals(ledger) == azure_oracle(rows_of(AZURE))
    rows = ledger.charges.order_by("x_source_line").to_pyarrow().to_pylist()
    source = rows_of(AZURE)
    for row, src in zip(rows, source, strict=True):
        month, day, year = (int(x) for x in src["Date"].split("/"))
        start = row["ChargePeriodStart"]
        assert (start.day, start.month, start.year) == (day, month, year)
        assert (row["ChargePeriodEnd"] - row["ChargePeriodStart"]).days == 1  # FOCUS ends are exclusive
        assert row["BillingPeriodEnd"].day == 1  # Azure's last day included, read as the next day
        assert row["Tags"].startswith("{") and '"tagA"' in row["Tags"]  # EA's braceless tags
        assert row["BillingCurrency"] == src["BillingCurrencyCode"] == "CAD"


@pytest.mark.slow  # two ledgers of the EA samples: ~7 s (the fast tier stays under 2 minutes)
def test_azure_actual_and_amortized_views_reconcile(tmp_path):
    """The FinOps toolkit's EA actual and amortized samples of one account: the rows both
    views hold agree to the digit; the amortized view bills nothing for usage a
    reservation or savings plan covers and carries its share as effective cost; the
    actual view bills the reservation's purchase."""
    from computeledger import open_ledger

    actual, amortized = (
        shared(TOOLKIT / "EA_ActualCost_Small.csv"),
        shared(TOOLKIT / "EA_AmortizedCost_Small.csv"),
    )
    views = {}
    for name, path, mapping in (
        ("actual", actual, None),
        ("amortized", amortized, "azure-cost-details-amortized"),
    ):
        with open_ledger(tmp_path / f"{name}.duckdb") as lg:
            [r] = lg.ingest([path], mapping=mapping)
            assert (r.status, r.rows_quarantined) == ("loaded", 0), r.message
            views[name] = (r, lg.charges.order_by("x_source_line").to_pyarrow().to_pylist())
    (_, act), (rm, amo) = views["actual"], views["amortized"]
    src_act, src_amo = rows_of(actual), rows_of(amortized)
    assert len(act) == len(src_act) == 11 and len(amo) == len(src_amo) == 28
    exact = sum(Decimal(x["Cost"]) for x in src_amo)
    residue = Decimal(rm.rounding["EffectiveCost"]["residue"]) if "EffectiveCost" in rm.rounding else 0
    assert sum(x["EffectiveCost"] for x in amo) + residue == exact  # to the last digit of the text
    covered = [x for x in amo if x["PricingCategory"] == "Committed"]
    assert len(covered) == 2 and all(x["BilledCost"] == 0 and x["EffectiveCost"] > 0 for x in covered)
    assert {x["CommitmentDiscountType"] for x in covered} == {"Reservation", "Savings Plan"}
    [purchase] = [x for x in act if x["ChargeCategory"] == "Purchase"]
    assert purchase["BilledCost"] == Decimal("3.25") and purchase["ChargeFrequency"] == "Recurring"

    def key(x):
        return (x["SubAccountId"], x["ChargePeriodStart"], x["SkuId"], x["ConsumedQuantity"])

    both = {key(x): x for x in act if x["ChargeCategory"] == "Usage"}
    shared_rows = [x for x in amo if key(x) in both]
    assert len(shared_rows) == 10
    for x in shared_rows:
        assert (x["BilledCost"], x["EffectiveCost"]) == (
            both[key(x)]["BilledCost"],
            both[key(x)]["EffectiveCost"],
        )
    assert sum(x["BilledCost"] for x in act) == sum(stored(x["Cost"]) for x in src_act)


def test_an_oci_cost_report_is_found_and_keeps_its_costs(ledger):
    [r] = ledger.ingest([shared(OCI)])
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 506, 0), r.message
    assert Path(r.mapping).name == "oci_cost_report.toml"
    source = rows_of(OCI)
    by_service: dict[str, Decimal] = defaultdict(Decimal)
    for x in source:
        by_service[x["product/service"]] += stored(x["cost/myCost"])
    t = ledger.charges
    got = (
        t.group_by("ServiceName")
        .aggregate(b=t.BilledCost.sum(), e=t.EffectiveCost.sum())
        .to_pyarrow()
        .to_pylist()
    )
    assert {x["ServiceName"]: x["b"] for x in got} == dict(by_service)
    assert all(x["b"] == x["e"] for x in got)
    one = t.limit(1).to_pyarrow().to_pylist()[0]
    assert str(one["BillingPeriodStart"]) == "2023-11-01 00:00:00"
    assert str(one["BillingPeriodEnd"]) == "2023-12-01 00:00:00"
    assert one["ListCost"] is None and "null_not_allowed:ListCost" in one["x_quality_flags"]  # never invented
    assert one["BillingAccountId"].startswith("ocid1.tenancy.")


def test_a_native_export_missing_a_column_is_refused_naming_it(ledger, tmp_path):
    rows = rows_of(shared(AWS))
    header = [c for c in rows[0] if c != "lineItem/UsageStartDate"]
    damaged = tmp_path / "cur.csv"
    with damaged.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows([r[c] for c in header] for r in rows[:20])
    [r] = ledger.ingest([damaged])
    assert r.status == "refused"
    assert "aws-cur" in r.message and "line_item_usage_start_date" in r.message
    assert ledger.charges.count().to_pyarrow().as_py() == 0


def test_a_bad_number_in_a_native_export_quarantines_its_line_naming_column_and_value(ledger, tmp_path):
    rows = rows_of(shared(AWS))[:30]
    rows[4]["lineItem/UnblendedCost"] = "12,50"
    damaged = tmp_path / "cur.csv"
    with damaged.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    [r] = ledger.ingest([damaged])
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 29, 1)
    [q] = ledger.quarantine.to_pyarrow().to_pylist()
    assert q["source_line"] == 6
    # the FOCUS column and the export's own column it is read from, and the value
    assert "BilledCost (from lineItem/UnblendedCost): not a number: '12,50'" in q["reason"]
    assert "ContractedCost (from lineItem/UnblendedCost): not a number: '12,50'" in q["reason"]


def test_a_truncated_native_gzip_is_refused_and_changes_nothing(ledger, tmp_path):
    cut = tmp_path / "cur.csv.gz"
    cut.write_bytes(shared(AWS).read_bytes()[:20_000])
    [r] = ledger.ingest([cut])
    assert r.status == "refused" and r.message
    assert ledger.charges.count().to_pyarrow().as_py() == 0


@pytest.mark.slow  # four ledgers of the 1,281-row CUR
@pytest.mark.parametrize("order", [0, 1])
def test_a_focus_and_a_native_export_of_one_bill_in_one_call_count_once(ledger, tmp_path, order):
    """Mixed estates: the FOCUS export of a bill stands over the native export of the same
    provider, billing account and billing period, in whatever order they come."""
    native = shared(AWS)
    from computeledger import open_ledger
    from computeledger.export.focus import write_focus

    with open_ledger(tmp_path / "native.duckdb") as lg:
        lg.ingest([native])
        [written] = write_focus(lg, tmp_path / "out", "1.3")
    focus = Path(written["path"]).rename(tmp_path / "focus.csv")
    files = [focus, native] if order == 0 else [native, focus]
    results = ledger.ingest(files)
    by_name = {Path(r.path).name: r for r in results}
    focus_result, native_result = by_name["focus.csv"], by_name[native.name]
    assert focus_result.rows_loaded == native_result.rows_loaded == 1281
    if order == 0:  # the native file comes second: set aside as it loads
        assert native_result.rows_set_aside == 1281 and "FOCUS export" in native_result.message
    else:  # the native file came first: the FOCUS file replaces it
        assert focus_result.rows_replaced == 1281
    ingests = ledger.ingests.order_by("ingest_id").to_pyarrow().to_pylist()
    native_row = next(i for i in ingests if i["ingest_id"] == native_result.ingest_id)
    assert native_row["status"] == "superseded" and native_row["rows_superseded"] == 1281
    if order == 0:
        assert f"ingest #{focus_result.ingest_id} " in native_row["message"]
    else:
        assert native_row["superseded_by"] == focus_result.ingest_id
    t = ledger.charges
    assert t.count().to_pyarrow().as_py() == 1281
    assert t.BilledCost.sum().to_pyarrow().as_py() == sum(
        b for b, _, _ in aws_oracle(rows_of(native)).values()
    )
