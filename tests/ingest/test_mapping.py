"""Mapped import: a GPU cloud's invoice CSV becomes FOCUS charges, exactly."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from computeledger import UsageError
from computeledger.catalog import gpus
from computeledger.ingest.mapping import load_mapping
from tests.conftest import decimal_sum, totals

MAPPING = Path(str(files("computeledger") / "data" / "mappings" / "gpu_cloud_invoice.toml"))
HEADER = [
    "invoice_id", "provider", "account_id", "account_name", "currency", "period_start", "period_end",
    "usage_start", "usage_end", "region", "cluster", "instance_type", "instance_hours", "rate_usd",
    "list_rate_usd", "description", "tags",
]  # fmt: skip


def invoice(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, HEADER, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def line(i: int, hours: str, rate: str, instance="gd-8xh100ib-i128", **kw) -> dict:
    row = {
        "invoice_id": "INV-2025-01", "provider": "CoreWeave", "account_id": "lab-1",
        "account_name": "Lab", "currency": "USD", "period_start": "2025-01-01",
        "period_end": "2025-02-01", "usage_start": f"2025-01-{i + 1:02d}T00:00:00Z",
        "usage_end": f"2025-01-{i + 2:02d}T00:00:00Z", "region": "US-EAST-04",
        "cluster": f"cluster-{i % 3}", "instance_type": instance, "instance_hours": hours,
        "rate_usd": rate, "list_rate_usd": "49.24", "description": "8x H100 node-hours",
        "tags": json.dumps({"workload": "training", "model": "frontier-2"}),
    }  # fmt: skip
    row.update(kw)
    return row


def test_invoice_loads_with_exact_costs_and_gpu_hours(ledger, tmp_path):
    rows = [
        line(i, h, r) for i, (h, r) in enumerate([("744", "35.12"), ("12.5", "35.12"), ("0.25", "17.3333")])
    ]
    rows.append(line(3, "10", "30", instance="a3-megagpu-8g"))
    rows.append(line(4, "3", "2.5", instance="unknown-box"))
    [r] = ledger.ingest([invoice(tmp_path / "inv.csv", rows)], mapping=MAPPING)
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 5, 5, 0), r.message
    t = totals(ledger)["CoreWeave"]
    expected = decimal_sum(Decimal(x["instance_hours"]) * Decimal(x["rate_usd"]) for x in rows)
    assert t["BilledCost"] == expected == Decimal("26880.113325")
    assert t["ListCost"] == decimal_sum(Decimal(x["instance_hours"]) * Decimal("49.24") for x in rows)
    df = ledger.charges.order_by("x_source_line").execute()
    ext = [json.loads(e) for e in df.x_extensions]
    assert [e.get("x_GpuCount") for e in ext] == ["8", "8", "8", "8", None]
    assert "x_GpuCount" not in ext[4]  # a member with no value is left out
    assert [e.get("x_GpuHours") for e in ext][:2] == ["5952.00", "100.00"]
    assert ext[3]["x_GpuModel"] == "H100 SXM"
    assert ext[0]["x_cluster"] == "cluster-0"  # the invoice's own columns are kept
    assert df.ChargeClass.isnull().all()
    assert set(df.ServiceCategory) == {"Compute"}


def test_bad_invoice_rows_are_quarantined_naming_the_source(ledger, tmp_path):
    rows = [line(0, "744", "35.12"), line(1, "n/a", "35.12"), line(2, "5", "35.12", usage_start="soon")]
    [r] = ledger.ingest([invoice(tmp_path / "inv.csv", rows)], mapping=MAPPING)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (3, 1, 2)
    q = ledger.quarantine.order_by("source_line").execute()
    assert list(q.source_line) == [3, 4]
    # each reason names the FOCUS column and the invoice's own columns it is read from
    assert "BilledCost (from instance_hours, rate_usd): not a number: 'instance_hours=n/a'" in q.reason[0]
    assert "PricingQuantity (from instance_hours): not a number: 'n/a'" in q.reason[0]
    assert q.reason[1] == "ChargePeriodStart (from usage_start): not a date-time: 'soon'"


def test_same_invoice_with_a_corrected_mapping_restates(ledger, tmp_path):
    path = invoice(tmp_path / "inv.csv", [line(0, "10", "2")])
    ledger.ingest([path], mapping=MAPPING)
    again = ledger.ingest([path], mapping=MAPPING)[0]
    assert again.status == "duplicate"
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(
        MAPPING.read_text().replace(
            '"instance_hours * rate_usd"\nEffective', '"instance_hours * list_rate_usd"\nEffective'
        )
    )
    [r] = ledger.ingest([path], mapping=fixed)
    assert (r.status, r.rows_replaced) == ("loaded", 1)
    assert totals(ledger)["CoreWeave"]["BilledCost"] == Decimal("492.40")


def test_file_lacking_a_mapped_column_is_refused(ledger, tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("invoice_id,provider\nINV,CoreWeave\n")
    [r] = ledger.ingest([path], mapping=MAPPING)
    assert r.status == "refused"
    assert r.message.startswith("mapping gpu-cloud-invoice")
    assert "account_id" in r.message and "instance_hours" in r.message
    assert ledger.charges.count().execute() == 0


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[columns]\nColour = "c"', "[columns] Colour: not a FOCUS column"),
        ("[expressions]\nBilledCost = \"read_csv('/etc/passwd')\"", "function read_csv is not allowed"),
        ('[expressions]\nBilledCost = "(SELECT 1)"', "is not allowed in a mapping"),
        ('[expressions]\nBilledCost = "a +"', "cannot parse"),
        ('[constants]\nBilledCost = "1"\n[columns]\nBilledCost = "x"', "already set in [constants]"),
        ('[sql]\nx = "drop table charges"', "unknown section(s) sql"),
        (
            '[values.PricingUnit]\nhr = "Hours"',
            "[values.PricingUnit]: value maps apply to [columns] and [expressions]",
        ),
        (
            '[columns]\nServiceName = "s"\n[defaults]\nServiceName = "x"',
            "[defaults] ServiceName: defaults apply",
        ),
        ('[columns]\nServiceName = "s"\n[source]\noptional = ["t"]', "[source] t: the mapping does not read"),
        ('[columns]\nServiceName = "s"\n[source]\nnames = "camel"', "names = 'camel'"),
        ('[columns]\nServiceName = "s"\n[source]\nsql = "x"', "[source] takes names, optional and one_of"),
        ('[columns]\nChargePeriodEnd = "d"\n[dates]\nChargePeriodEnd = "eval"', "use one of day_after"),
        ('[columns]\nServiceName = "s"\n[dates]\nChargePeriodEnd = "day_after"', "not set in [columns]"),
        ('[columns]\nServiceName = "s"\n[detect]\ncolumns = "s"', "[detect] takes columns"),
        ('[columns]\nServiceName = "s"\n[detect]\nany = ["s"]', "any, a list of lists"),
        ("[expressions]\nSkuPriceDetails = \"JSON_OBJECT(k, 'v')\"", "each key quoted text"),
        ("[expressions]\nSkuPriceDetails = \"JSON_OBJECT('k', v RETURNING VARCHAR)\"", "json_object takes"),
    ],
)
def test_mapping_errors_name_the_entry(tmp_path, toml, message):
    path = tmp_path / "m.toml"
    path.write_text(toml)
    with pytest.raises(UsageError) as err:
        load_mapping(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_missing_mapping_file_is_a_clear_error(ledger, tmp_path):
    with pytest.raises(UsageError, match=r"nope.toml: no such file, nor a shipped mapping"):
        ledger.ingest([tmp_path], mapping=tmp_path / "nope.toml")


def test_gpu_catalogue_covers_the_instances_the_issues_name():
    table = gpus.catalog()
    for name, model, count in [
        ("p5.48xlarge", "H100 SXM", 8), ("ND96isr_H100_v5", "H100 SXM", 8),
        ("Standard_ND96isr_H200_v5", "H200 SXM", 8), ("a3-highgpu-8g", "H100 SXM", 8),
        ("a3-megagpu-8g", "H100 SXM", 8), ("BM.GPU.H100.8", "H100 SXM", 8),
        ("p5e.48xlarge", "H200 SXM", 8), ("g5.4xlarge", "A10G", 1),
    ]:  # fmt: skip
        row = gpus.lookup(name, table)
        assert (row.gpu_model, row.gpus) == (model, count), name
        assert row.source.startswith("https://")
    assert gpus.lookup("m5.large", table) is None


def test_gpu_catalogue_errors_name_line_and_column(tmp_path):
    bad = tmp_path / "gpus.csv"
    bad.write_text(",".join(gpus.COLUMNS) + "\nLab,box-1,H100 SXM,eight,80,,me\n")
    with pytest.raises(UsageError, match=r"line 2, column gpus: not a whole number: 'eight'"):
        gpus.read_catalog(bad)
    bad.write_text(",".join(gpus.COLUMNS) + "\nLab,box-1,H100 SXM,0,80,,me\n")
    with pytest.raises(
        UsageError, match=r"line 2, column gpus: a CPU-only instance has 0 GPUs and gpu_model none"
    ):
        gpus.read_catalog(bad)


def test_cpu_only_instances_have_zero_gpus_known():
    row = gpus.lookup("m7i.4xlarge")
    assert (row.gpus, row.gpu_model) == (0, "none")
    assert gpus.lookup("p5.48xlarge").gpus == 8


def test_eighteen_decimal_operands_load_exactly_or_quarantine_their_row_alone(ledger, tmp_path):
    """Issue 14.13: one operand written to 18 places no longer overflows the whole file."""
    rows = [
        line(0, "10.5", "78.784"),
        line(1, "1.123456789012345678", "2", list_rate_usd="3"),  # 36 places: read at 18 and 0
        line(2, "1.123456789012345678", "1.123456789012345678"),  # 36 places: not exact at 18
        line(3, "99999999999", "99999999999.5"),  # beyond 20 digits before the point
    ]
    [r] = ledger.ingest([invoice(tmp_path / "inv.csv", rows)], mapping=MAPPING)
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 4, 2, 2), r.message
    df = ledger.charges.order_by("x_source_line").execute()
    assert list(df.BilledCost) == [Decimal("827.232"), Decimal("2.246913578024691356")]
    q = ledger.quarantine.order_by("source_line").execute()
    assert list(q.source_line) == [4, 5]
    assert "beyond 18 places or 20 digits: instance_hours * rate_usd" in q.reason[0]
    assert "beyond 18 places or 20 digits: instance_hours * rate_usd" in q.reason[1]


def test_division_by_a_power_of_ten_is_exact_and_other_divisions_are_refused(ledger, tmp_path):
    """Issue 14.5: `instance_hours * rate_usd / 10` is 82.7232, not 82.72319999999999."""
    product = '"instance_hours * rate_usd"'
    divided = tmp_path / "div.toml"
    divided.write_text(MAPPING.read_text().replace(product, '"instance_hours * rate_usd / 10"'))
    [r] = ledger.ingest([invoice(tmp_path / "inv.csv", [line(0, "10.5", "78.784")])], mapping=divided)
    assert r.rows_loaded == 1, r.message
    assert totals(ledger)["CoreWeave"]["BilledCost"] == Decimal("82.7232")
    by_three = tmp_path / "three.toml"
    by_three.write_text(MAPPING.read_text().replace(product, '"instance_hours * rate_usd / 3"'))
    with pytest.raises(UsageError, match="division is exact only by a power of ten"):
        load_mapping(by_three)


def places(d: Decimal) -> int:
    return max(0, -d.normalize().as_tuple().exponent)


amounts = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=12)


@pytest.mark.slow  # over 10 s: a mapped ledger per example
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(amounts, amounts), min_size=1, max_size=8))
def test_mapped_products_are_exact_or_quarantined(tmp_path_factory, pairs):
    """What loads is the exact product (never rounded); a row whose operands have at most 9
    places each always loads; a row held back says why."""
    from computeledger import open_ledger

    tmp = tmp_path_factory.mktemp("prod")
    rows = [line(i, f"{h:f}", f"{r:f}") for i, (h, r) in enumerate(pairs)]
    with open_ledger(tmp / "l.duckdb") as led:
        [res] = led.ingest([invoice(tmp / "inv.csv", rows)], mapping=MAPPING)
        assert res.rows_loaded + res.rows_quarantined == len(rows), res.message
        df = led.charges.execute()
        got = dict(zip(df.x_source_line, df.BilledCost, strict=True))
        held = dict(led.quarantine.select("source_line", "reason").execute().itertuples(index=False))
    for i, (h, r) in enumerate(pairs):
        if i + 2 in got:
            assert got[i + 2] == h * r
        else:
            assert "beyond 18 places or 20 digits: instance_hours * rate_usd" in held[i + 2]
            assert places(h) > 9 or places(r) > 9


OWN = """
name = "own-export"
[source]
names = "snake"
optional = ["resource_tag"]
one_of = [["description", "service"]]
[constants]
ServiceProviderName = "Acme"
InvoiceIssuerName = "Acme"
BillingAccountName = ""
BillingCurrency = "USD"
ChargeCategory = "Usage"
ChargeClass = ""
PricingUnit = "Hours"
ServiceName = "GPU"
BillingPeriodStart = "2025-03-01"
BillingPeriodEnd = "2025-04-01"
[columns]
BillingAccountId = "account_id"
ChargePeriodStart = "day"
ChargePeriodEnd = "day"
ServiceCategory = "service"
PricingQuantity = "hours"
ResourceId = "resource_tag"
[expressions]
BilledCost = "hours * rate"
EffectiveCost = "hours * rate"
ContractedCost = "hours * rate"
ListCost = "hours * rate"
ChargeDescription = "COALESCE(description, service)"
[dates]
ChargePeriodEnd = "day_after"
[defaults]
ServiceCategory = "Other"
[values.ServiceCategory]
gpu = "Compute"
"""


def test_a_mapping_matches_snake_names_reads_absent_optional_columns_and_moves_dates(ledger, tmp_path):
    """[source] names = "snake" matches AccountId to account_id; an optional column the
    file lacks reads as empty; [defaults] catches what a value map lacks, empty included;
    [dates] day_after ends a day the source gives as included; E notation in an operand is
    written out digit for digit."""
    mapping = tmp_path / "own.toml"
    mapping.write_text(OWN)
    bill = tmp_path / "bill.csv"
    bill.write_text(
        "AccountId,Day,Hours,Rate,Service\n"
        "A1,03/05/2025,1.5E-3,2,gpu\n"
        "A1,03/06/2025,2,0.25,storage\n"
        "A1,03/07/2025,1,3,\n"
    )
    [r] = ledger.ingest([bill], mapping=mapping)
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 3, 0), r.message
    rows = ledger.charges.order_by("x_source_line").to_pyarrow().to_pylist()
    assert [x["BilledCost"] for x in rows] == [Decimal("0.0030"), Decimal("0.50"), Decimal("3")]
    assert [x["ServiceCategory"] for x in rows] == ["Compute", "Other", "Other"]
    assert [str(x["ChargePeriodEnd"]) for x in rows] == [
        "2025-03-06 00:00:00", "2025-03-07 00:00:00", "2025-03-08 00:00:00",
    ]  # fmt: skip
    assert [x["ResourceId"] for x in rows] == [None] * 3
    assert '"x_Hours":"1.5E-3"' not in rows[0]["x_extensions"]  # the operand as read: written out
    assert "x_resource_tag" not in rows[0]["x_extensions"]  # absent columns are not invented


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "AccountId,account_id,Day,Hours,Rate,Service",
            "columns 'AccountId' and 'account_id' are one column",
        ),
        (
            "AccountId,Day,Hours,Rate",
            "needs one of these columns, and the file has none: description, service",
        ),
        ("AccountId,Hours,Rate,Service", "names column(s) the file lacks: day"),
    ],
)
def test_a_file_the_mapping_cannot_read_is_refused_naming_the_columns(ledger, tmp_path, header, message):
    mapping = tmp_path / "own.toml"
    mapping.write_text(OWN)
    bill = tmp_path / "bill.csv"
    bill.write_text(header + "\n" + ",".join("1" for _ in header.split(",")) + "\n")
    [r] = ledger.ingest([bill], mapping=mapping)
    assert r.status == "refused"
    assert message in r.message
    assert ledger.charges.count().to_pyarrow().as_py() == 0


def test_a_mapping_extends_another_replacing_its_entries_column_by_column(tmp_path):
    """The amortized Azure view is the actual view with its own BilledCost: everything else
    (and no [detect]) comes from the base; a change of the base changes the sha256."""
    base = load_mapping("azure-cost-details")
    variant = load_mapping("azure-cost-details-amortized")
    assert variant.detect == [] and base.detect
    assert variant.expressions["BilledCost"] != base.expressions["BilledCost"]
    assert {t: e for t, e in variant.expressions.items() if t != "BilledCost"} == {
        t: e for t, e in base.expressions.items() if t != "BilledCost"
    }
    assert variant.values == base.values and variant.dates == base.dates and variant.columns == base.columns
    first = tmp_path / "first.toml"
    first.write_text('[constants]\nServiceName = "a"\nServiceCategory = "Other"\n')
    second = tmp_path / "second.toml"
    second.write_text('extends = "first.toml"\n[columns]\nServiceName = "s"\n')
    got = load_mapping(second)
    assert (got.constants, got.columns) == ({"ServiceCategory": "Other"}, {"ServiceName": "s"})
    before = got.sha256
    first.write_text('[constants]\nServiceName = "a"\nServiceCategory = "Compute"\n')
    assert load_mapping(second).sha256 != before
    third = tmp_path / "third.toml"
    third.write_text('extends = "second.toml"\n')
    with pytest.raises(UsageError, match="one level only"):
        load_mapping(third)


#: Text a value may hold: any character but the control characters JSON cannot carry
#: unescaped, besides the line breaks and tab the object escapes.
_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from('\n\r\t"\\'), max_size=12)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.none() | _TEXT, min_size=1, max_size=4))
def test_json_object_is_the_json_of_its_members_that_are_not_null(values):
    """The mapping language's JSON_OBJECT as both engines run it (plain SQL text
    functions): a JSON object of the members whose value is not null, null when none is."""
    import duckdb
    import sqlglot.expressions as sge

    from computeledger.ingest.mapping import json_text

    keys = [f"Key{i}" for i in range(len(values))]
    members = [(k, sge.Null() if v is None else sge.convert(v)) for k, v in zip(keys, values, strict=True)]
    [(got,)] = duckdb.sql(sge.select(json_text(members)).sql("duckdb")).fetchall()
    want = {k: v for k, v in zip(keys, values, strict=True) if v is not None}
    assert (None if got is None else json.loads(got)) == (want or None)


def test_split_part_json_object_and_detection_by_any_of_a_list(ledger, tmp_path):
    """A provider's cost export under other names than the shipped sample's is found by
    the token-cost-export mapping's [detect] any, and its line items split and described."""
    from computeledger.ingest.mapping import detect

    header = ["Day", "Model_Name", "Token_Kind", "Num_Tokens", "Total_Cost", "Currency", "Vendor"]
    assert detect(header).name == "token-cost-export"
    assert detect([h for h in header if h != "Num_Tokens"]) is None  # a list with no column of the file
    path = tmp_path / "statement.csv"
    path.write_text(",".join(header) + "\n2025-03-04,m-1,prompt,2500000,1.25,eur,Acme\n")
    [r] = ledger.ingest([path])
    assert (r.status, r.rows_loaded) == ("loaded", 1)
    [row] = ledger.charges.to_pyarrow().to_pylist()
    assert (row["BillingCurrency"], row["ServiceProviderName"], row["ConsumedQuantity"]) == (
        "EUR", "Acme", Decimal(2500000))  # fmt: skip
    assert json.loads(row["SkuPriceDetails"]) == {"ModelId": "m-1", "TokenCacheAction": "Uncached",
                                                  "TokenDirection": "Input"}  # fmt: skip
    m = tmp_path / "split.toml"
    m.write_text(
        '[constants]\nServiceProviderName = "X"\n[expressions]\n'
        "SkuId = \"SPLIT_PART(item, ' | ', 2)\"\nSkuMeter = \"NULLIF(SPLIT_PART(item, ' | ', 3), '')\"\n"
    )
    got = load_mapping(m)
    assert got.source_columns() == {"item"}
