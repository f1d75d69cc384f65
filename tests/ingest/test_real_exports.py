"""Exports as real providers write them: Azure's FOCUS 1.0 layout with 28-digit decimals,
a BOM and CRLF; its version told by its columns or its manifest; long decimals in revenue
files. Every total is held against an independent Decimal sum of the file's own text."""

from __future__ import annotations

import json
import random
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computeledger.ingest.normalize import to_decimal_rounded, with_plain_text
from tests.conftest import DATA, decimal_sum, shared, totals

_METADATA = shared(DATA / "finops-toolkit" / "FocusCost_1.0.json")
AZURE_COLUMNS = [c["ColumnName"] for c in json.loads(_METADATA.read_text(encoding="utf-8"))["Columns"]]
MONEY = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")


def _digits(rnd: random.Random, places: int) -> str:
    return "".join(rnd.choice("0123456789") for _ in range(places))


def azure_export(path, rows: int = 320, seed: int = 7, zero_rows: int = 24) -> list[dict]:
    """An Azure Cost Management FOCUS 1.0 export as Azure writes it (MCA, EUR, October
    2025): Azure's 96 columns, a UTF-8 BOM, CRLF line ends, costs with up to 28 fractional
    digits and quantities and prices with 19 to 21. The rows, as text, are returned."""
    rnd = random.Random(seed)
    out = []
    for i in range(rows):
        zero = i < zero_rows
        cost = "0" if zero else f"{rnd.randint(0, 250)}.{_digits(rnd, rnd.choice([10, 22, 28]))}"
        row = {c: "" for c in AZURE_COLUMNS}
        row |= {
            "BilledCost": cost, "EffectiveCost": cost,
            "ListCost": "0" if zero else f"{rnd.randint(0, 300)}.{_digits(rnd, 28)}",
            "ContractedCost": "0" if zero else f"{rnd.randint(0, 280)}.{_digits(rnd, 28)}",
            "BillingAccountId": "/providers/Microsoft.Billing/billingAccounts/0000-aaaa:bbbb_2019-05-31",
            "BillingAccountName": "Contoso", "BillingAccountType": "Billing Profile",
            "BillingCurrency": "EUR", "BillingPeriodStart": "2025-10-01T00:00:00Z",
            "BillingPeriodEnd": "2025-11-01T00:00:00Z", "ChargeCategory": "Usage",
            "ChargeDescription": "Standard_ND96isr_H100_v5", "ChargeFrequency": "Usage-Based",
            "ChargePeriodStart": f"2025-10-{1 + i % 28:02d}T00:00:00Z",
            "ChargePeriodEnd": f"2025-10-{2 + i % 28:02d}T00:00:00Z",
            "ConsumedQuantity": f"0.{_digits(rnd, 19)}", "ConsumedUnit": "Hours",
            "ContractedUnitPrice": f"{rnd.randint(0, 99)}.{_digits(rnd, 21)}",
            "ListUnitPrice": f"{rnd.randint(0, 99)}.{_digits(rnd, 20)}",
            "InvoiceIssuerName": "Microsoft", "PricingCategory": "Standard",
            "PricingQuantity": f"0.{_digits(rnd, 19)}", "PricingUnit": "1 Hour",
            "ProviderName": "Microsoft", "PublisherName": "Microsoft", "RegionId": "swedencentral",
            "RegionName": "Sweden Central", "ResourceId": f"/subscriptions/s/vm-{i % 9}",
            "ServiceCategory": "Compute", "ServiceName": "Virtual Machines", "SubAccountId": "s",
            "SubAccountName": "AI serving", "SubAccountType": "Subscription",
            "Tags": json.dumps({"workload": "inference"}), "x_BillingExchangeRate": "0.9212",
            "x_SkuMeterName": "ND96isr H100 v5", "x_PricingBlockSize": "1",
        }  # fmt: skip
        out.append(row)
    text = "\ufeff" + ",".join(AZURE_COLUMNS) + "\r\n"
    for row in out:
        text += ",".join(_cell(row[c]) for c in AZURE_COLUMNS) + "\r\n"
    path.write_bytes(text.encode("utf-8"))
    return out


def _cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(ch in value for ch in ',"\r\n') else value


def half_even(text: str) -> Decimal:
    with localcontext(prec=80):
        return Decimal(text).quantize(Decimal("1e-18"), rounding=ROUND_HALF_EVEN)


@pytest.mark.slow  # a 320-row export with 28-digit decimals: ~8 s (the fast tier stays under 2 minutes)
def test_a_real_azure_focus_export_loads_every_row_and_reconciles_to_its_text(ledger, tmp_path):
    path = tmp_path / "part_0_0001.csv"
    rows = azure_export(path)
    [r] = ledger.ingest([path])
    # before: 296 of 320 rows quarantined for "more than 18 decimal places", as 1.2
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 320, 320, 0)
    assert r.focus_version == "1.0"
    assert "BillingAccountType, SubAccountType" in r.version_evidence
    got = totals(ledger)["Microsoft"]
    for column in (*MONEY, "PricingQuantity", "ConsumedQuantity", "ListUnitPrice", "ContractedUnitPrice"):
        source = decimal_sum(row[column] for row in rows)
        rounded = [row[column] for row in rows if half_even(row[column]) != Decimal(row[column])]
        residue = Decimal(r.rounding[column]["residue"])
        assert r.rounding[column]["rows"] == len(rounded)
        if column in MONEY:
            assert got[column] == decimal_sum(half_even(row[column]) for row in rows)
            with localcontext(prec=80):
                assert got[column] + residue == source, column  # to the last digit of the text
    stored = ledger.ingests.rounding.to_pyarrow().to_pylist()[0]
    assert json.loads(stored) == r.rounding


def test_each_rounded_row_keeps_its_source_text_and_flag(ledger, tmp_path):
    path = tmp_path / "export.csv"
    rows = azure_export(path, rows=30, zero_rows=0)
    ledger.ingest([path])
    got = ledger.charges.order_by("x_source_line").select("BilledCost", "x_quality_flags", "x_extensions")
    for source, row in zip(rows, got.to_pyarrow().to_pylist(), strict=True):
        cost, flags, doc = row["BilledCost"], row["x_quality_flags"], json.loads(row["x_extensions"])
        assert doc["x_SkuMeterName"] == "ND96isr H100 v5"  # the export's own columns are kept
        if half_even(source["BilledCost"]) != Decimal(source["BilledCost"]):
            assert "rounded_past_18_decimals:BilledCost" in flags
            assert doc["x_rounded_from"]["BilledCost"] == source["BilledCost"]
            assert cost == half_even(source["BilledCost"])
        else:
            assert "BilledCost" not in doc.get("x_rounded_from", {})


@pytest.mark.parametrize(
    ("manifest", "version", "said"),
    [
        ({"exportConfig": {"type": "FocusCost", "dataVersion": "1.0r2"}}, "1.0", "manifest.json declares"),
        pytest.param(
            {"exportConfig": {"type": "FocusCost", "dataVersion": "1.2-preview"}},
            "1.2",
            "alone say 1.0",
            marks=pytest.mark.slow,  # each case compiles the export's rules anew: one in the fast tier
        ),
        pytest.param(
            {"exportConfig": {"type": "ActualCost", "dataVersion": "2021-10-01"}},
            "1.0",
            "1.0: none of",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_the_exports_manifest_declares_its_version(ledger, tmp_path, manifest, version, said):
    path = tmp_path / "part_0_0001.csv"
    azure_export(path, rows=5)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    [r] = ledger.ingest([tmp_path])  # the folder: the manifest is read, never loaded
    assert (r.status, r.focus_version) == ("loaded", version)
    assert said in r.version_evidence
    assert ledger.ingests.count().to_pyarrow().as_py() == 1


def test_an_empty_charge_period_is_flagged(ledger, tmp_path):
    path = tmp_path / "export.csv"
    rows = azure_export(path, rows=3, zero_rows=0)
    text = path.read_text(encoding="utf-8-sig").replace(
        rows[1]["ChargePeriodEnd"], rows[1]["ChargePeriodStart"], 1
    )  # fmt: skip
    path.write_text(text, encoding="utf-8")
    ledger.ingest([path])
    flags = ledger.charges.order_by("x_source_line").x_quality_flags.to_pyarrow().to_pylist()
    assert ["empty_charge_period" in (f or "") for f in flags] == [False, True, False]


def test_revenue_files_round_the_same_way(ledger, tmp_path):
    path = tmp_path / "invoices.csv"
    amounts = ["1200.1234567890123456789", "10.5", "-0.0000000000000000005"]
    lines = ["invoice_id,customer,channel,model,item,quantity,unit,unit_price,amount,currency,"
             "period_start,period_end,issued_on,due_on"]  # fmt: skip
    lines += [f"inv-{i},acme,api,m,output,1,1M tokens,{a},{a},USD,2024-03-01,2024-04-01,2024-04-01,2024-05-01"
              for i, a in enumerate(amounts)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    [r] = ledger.ingest_revenue([path])
    assert (r.status, r.rows_loaded) == ("loaded", 3)
    t = ledger.store.table("revenue_lines").order_by("source_line").to_pyarrow().to_pylist()
    assert [x["amount"] for x in t] == [half_even(a) for a in amounts]
    assert "rounded_past_18_decimals:amount" in t[0]["x_quality_flags"]
    with localcontext(prec=80):
        assert sum(x["amount"] for x in t) + Decimal(r.rounding["amount"]["residue"]) == decimal_sum(amounts)
    assert r.rounding["amount"]["rows"] == 2 and r.rounding["unit_price"]["rows"] == 2


#: Decimal text of any length up to 38 places (the residue's reach), either sign.
decimal_text = st.builds(
    lambda sign, whole, fraction: f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}",
    st.sampled_from(["", "-", "+"]),
    st.integers(0, 10**20 - 1).map(str),
    st.text("0123456789", max_size=38),
)


@pytest.mark.slow  # a ledger per Hypothesis example
@settings(max_examples=60)
@given(st.lists(decimal_text, min_size=1, max_size=30))
def test_stored_value_plus_residue_is_the_source_value_for_any_text(texts):
    """The rounding rule on the engine: half-even at the 18th place, and the residue is
    exactly what was rounded away (a value at the top of the range that would round out of
    it is null: quarantined as out of range)."""
    import ibis

    t = ibis.memtable({"v": texts})
    t = with_plain_text(t, {"v": "p"})
    r = to_decimal_rounded(t.p)
    got = t.select(value=r.value, residue=r.residue, rounded=r.rounded).to_pyarrow().to_pylist()
    for text, row in zip(texts, got, strict=True):
        exact = Decimal(text)
        with localcontext(prec=80):
            want = exact.quantize(Decimal("1e-18"), rounding=ROUND_HALF_EVEN)
            if abs(want) >= Decimal(10) ** 20:
                assert row["value"] is None
                continue
            assert row["value"] == want
            assert row["rounded"] == (want != exact)
            if want != exact:
                assert row["value"] + Decimal(row["residue"]) == exact
            else:
                assert row["residue"] is None or Decimal(row["residue"]) == 0


@pytest.mark.slow  # three ledgers of the 96-column export
def test_a_group_of_exports_rounds_each_file_as_if_alone(tmp_path):
    """Two parts of an export in one call go through the rules as one group, and their
    residues are summed in one query per column, grouped by file: each file's rounding is
    what it is loaded alone, to the last digit."""
    from computeledger import open_ledger

    parts = [tmp_path / "part_0_0001.csv", tmp_path / "part_0_0002.csv"]
    azure_export(parts[0], rows=40, seed=3, zero_rows=2)
    azure_export(parts[1], rows=25, seed=4, zero_rows=0)
    alone = []
    for k, part in enumerate(parts):
        with open_ledger(tmp_path / f"alone{k}.duckdb") as lg:
            [r] = lg.ingest([part])
            alone.append(r.rounding)
    with open_ledger(tmp_path / "together.duckdb") as lg:
        together = lg.ingest(parts)
        stored = [json.loads(x) for x in lg.ingests.order_by("ingest_id").rounding.to_pyarrow().to_pylist()]
    assert [r.rows_loaded for r in together] == [40, 25]
    assert [r.rounding for r in together] == alone == stored
    assert all(alone) and alone[0] != alone[1]
