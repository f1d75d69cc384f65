"""The real, anonymised FOCUS 1.0 sample (AWS, Microsoft, Oracle) loads exactly."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from tests.conftest import decimal_sum, read_rows, totals


def test_every_row_loads_with_exact_totals_per_provider(ledger, sample):
    [r] = ledger.ingest([sample])
    assert (r.status, r.focus_version, r.rows_read, r.rows_loaded, r.rows_quarantined) == (
        "loaded",
        "1.0",
        1000,
        1000,
        0,
    )
    t = totals(ledger)
    assert t["AWS"]["BilledCost"] == Decimal("17.6646386184")
    assert t["Red Hat Inc."]["BilledCost"] == Decimal("0.342")  # marketplace seller
    assert t["Microsoft"]["BilledCost"] == Decimal("1.97651418586")
    assert t["Oracle"]["BilledCost"] == Decimal("0.53707392473")
    assert {k: v["rows"] for k, v in t.items()} == {
        "AWS": 941,
        "Red Hat Inc.": 1,
        "Microsoft": 51,
        "Oracle": 7,
    }
    header, rows = read_rows(sample)
    i = header.index("BilledCost")
    assert sum(v["BilledCost"] for v in t.values()) == decimal_sum(r[i] for r in rows)
    assert sum(v["BilledCost"] for v in t.values()) == Decimal("20.52022672899")


def test_unknown_is_not_zero(ledger, sample):
    ledger.ingest([sample])
    oracle = totals(ledger)["Oracle"]
    # Oracle leaves ContractedCost empty: the total is unknown, with the rows counted
    assert oracle["ContractedCost"] is None
    assert oracle["ContractedCost_missing"] == 7
    assert oracle["EffectiveCost"] == Decimal("0")


def test_provider_roles_follow_focus_13(ledger, sample):
    ledger.ingest([sample])
    c = ledger.charges
    assert c.filter(c.ServiceProviderName.isnull() | c.HostProviderName.isnull()).count().execute() == 0
    red_hat = c.filter(c.PublisherName == "Red Hat Inc.").execute()
    assert list(red_hat.ServiceProviderName) == ["Red Hat Inc."]
    assert list(red_hat.HostProviderName) == ["AWS"]
    assert list(red_hat.InvoiceIssuerName) == ["Amazon Web Services, Inc."]
    emea = c.filter(c.PublisherName == "Amazon Web Services EMEA SARL").ServiceProviderName
    assert set(emea.execute()) == {"AWS"}


def test_nulls_normalised_and_flagged(ledger, sample):
    ledger.ingest([sample])
    c = ledger.charges
    assert c.filter(c.ChargeClass == "NULL").count().execute() == 0
    assert c.ChargeClass.isnull().sum().execute() == 1000
    flagged = c.filter(c.x_quality_flags.contains("null_literal")).count().execute()
    assert flagged > 900
    # OCI writes "Usage-based": fixed to the FOCUS spelling and flagged
    assert set(c.ChargeFrequency.execute()) == {"Usage-Based", "One-Time"}
    fixed = c.filter(c.x_quality_flags.contains("value_spelling_fixed:ChargeFrequency"))
    assert fixed.count().execute() == 7
    outside = c.filter(c.x_quality_flags.contains("charge_outside_billing_period"))
    assert list(outside.ServiceProviderName.execute()) == ["Oracle"]


def test_periods_are_utc_and_end_exclusive(ledger, sample):
    ledger.ingest([sample])
    df = ledger.charges.execute()
    dur = df.ChargePeriodEnd - df.ChargePeriodStart
    assert set(dur[df.ServiceProviderName == "Microsoft"]) == {timedelta(days=1)}
    assert set(dur[df.ServiceProviderName == "AWS"]) == {timedelta(hours=1)}
    assert str(df.BillingPeriodStart.min()) == "2024-09-01 00:00:00"


def test_extension_columns_kept_and_lines_recorded(ledger, sample):
    ledger.ingest([sample])
    header, rows = read_rows(sample)
    id_col = header.index("Id")
    line_of_id = {r[id_col]: n for n, r in enumerate(rows, start=2)}
    df = ledger.charges.select("x_extensions", "x_source_line", "x_source_file").execute()
    ids = [json.loads(x)["x_Id"] for x in df.x_extensions]
    assert [line_of_id[i] for i in ids] == list(df.x_source_line)
    assert set(df.x_source_file) == {str(sample)}
