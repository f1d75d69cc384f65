"""The synthetic company: deterministic, valid FOCUS, and its truth recovered from the bills."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from decimal import Decimal

import pytest

from computeledger import UsageError, open_ledger
from computeledger.ingest.validate import validate
from computeledger.shipped import INVOICE_MAPPING
from computeledger.synth import generate
from tests.conftest import truth


def digest(folder) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(company, tmp_path):
    out, _ = company
    again = generate(tmp_path / "again", months=4, start="2024-05", seed=11)
    assert digest(tmp_path / "again") == digest(out)
    generate(tmp_path / "other", months=4, start="2024-05", seed=12)
    assert digest(tmp_path / "other") != digest(out)
    assert (again["focus_files"], again["invoice_files"]) == (16, 4)


@pytest.mark.slow  # over 20 s: the full suite runs it
def test_bills_ingest_to_the_truth_exactly(company, tmp_path):
    out, result = company
    with open_ledger(tmp_path / "l.duckdb") as lg:
        early = lg.ingest([out / "preliminary"])  # the open month, exported mid-month
        results = lg.ingest([out / "focus"])
        results += lg.ingest([out / "invoices"], mapping=INVOICE_MAPPING)
        # the final exports restate it: the preliminary rows are replaced, not added
        assert [r.status for r in early] == ["loaded"] * 4
        superseded = lg.ingests.filter(lg.ingests.status == "superseded").ingest_id.execute()
        assert sorted(superseded) == sorted(r.ingest_id for r in early)
        # a month without a GPU-cloud burst is a header-only invoice: identical files are duplicates
        assert {r.status for r in results} <= {"loaded", "duplicate"}
        c = lg.charges
        placeholders = c.filter((c.ChargeClass == "") | (c.ChargeClass == "NULL")).count().execute()
        assert placeholders == 0
        assert set(c.ChargeFrequency.execute()) == {"Usage-Based", "One-Time", "Recurring"}
        assert len(results) == result["files"] == 20
        assert sum(r.rows_quarantined for r in results) == 0
        assert sum(r.rows_loaded for r in results) == result["rows"]
        got = {
            (r["provider"], r["billing_month"].strftime("%Y-%m")): r
            for r in lg.summary("provider,billing_month").to_pyarrow().to_pylist()
        }
    expected: dict = defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0), 0])
    for row in truth(out):
        key = (row["provider"], row["month"])
        expected[key][0] += Decimal(row["billed_cost"])
        expected[key][1] += Decimal(row["list_cost"])
        expected[key][2] += Decimal(row["effective_cost"])
        expected[key][3] += int(row["rows"])
    assert set(got) == set(expected)
    assert {p for p, _ in expected} == {"Microsoft", "AWS", "Google Cloud", "Oracle", "CoreWeave"}
    for key, (billed, listed, effective, rows) in expected.items():
        g = got[key]
        assert (g["BilledCost"], g["ListCost"], g["EffectiveCost"], g["rows"]) == (
            billed,
            listed,
            effective,
            rows,
        )
    # the reservation makes the two bases differ: paid up front, amortized over the term
    billed_ms = sum(v[0] for k, v in expected.items() if k[0] == "Microsoft")
    effective_ms = sum(v[2] for k, v in expected.items() if k[0] == "Microsoft")
    assert billed_ms > effective_ms


@pytest.mark.slow  # over 20 s: the full suite runs it
def test_every_file_passes_validate(company):
    out, _ = company
    problems = validate([out / "focus"])
    assert [p for p in problems if p.severity == "error"] == []
    # the providers' quirks are there, and are what validate reports as warnings
    warned = {(p.file.split("/focus/")[1].split("/")[0], p.message.split(" (")[0]) for p in problems}
    assert ("google-cloud", "the text NULL stands for a null value") in warned
    # (Oracle's "" placeholders are read as nulls by the CSV reader itself: nothing to warn)
    assert any(f == "oracle" and m.startswith("a value differs from the FOCUS spelling") for f, m in warned)


def test_the_company_has_the_shape_it_claims(company):
    out, _ = company
    rows = truth(out)
    by_workload = defaultdict(Decimal)
    for r in rows:
        by_workload[r["workload"]] += Decimal(r["billed_cost"])
    assert set(by_workload) == {"inference", "training", "research", "shared", "credit", "commitment", "tax"}
    assert all(v > 0 for k, v in by_workload.items() if k != "credit")
    assert by_workload["credit"] < 0
    # the reasoning model launches in month 6: not in these first 4 months
    assert "sage-r" not in {r["model"] for r in rows}
    # inference grows month over month on every cloud that serves it
    inf = defaultdict(Decimal)
    for r in rows:
        if r["workload"] == "inference":
            inf[(r["provider"], r["month"])] += Decimal(r["gpu_hours"])
    for provider in {p for p, _ in inf}:
        series = [inf[(provider, m)] for m in ("2024-05", "2024-06", "2024-07", "2024-08")]
        assert series[-1] > series[0], provider


def test_credits_are_used_up_and_run_out_mid_period(tmp_path):
    out = tmp_path / "lab"
    generate(out, months=8, start="2024-01", seed=3)
    credits = [r for r in truth(out) if r["workload"] == "credit"]
    assert {r["provider"] for r in credits} == {"Google Cloud"}
    assert sum(Decimal(r["billed_cost"]) for r in credits) == Decimal("-750000")
    charges = defaultdict(Decimal)
    for r in truth(out):
        if r["provider"] == "Google Cloud" and r["workload"] != "credit":
            charges[r["month"]] += Decimal(r["billed_cost"])
    *full, last = credits
    assert all(-Decimal(r["billed_cost"]) == charges[r["month"]] for r in full)
    assert 0 < -Decimal(last["billed_cost"]) < charges[last["month"]]  # the grant ran out here
    with open_ledger(tmp_path / "l.duckdb") as lg:
        lg.ingest([out / "focus" / "google-cloud"])
        c = lg.charges.filter(lg.charges.ChargeCategory == "Credit").execute()
        assert len(c) == len(credits)
        assert (c.BilledCost == c.EffectiveCost).all()
        assert sum(c.BilledCost) == Decimal("-750000")


@pytest.mark.slow  # over 20 s: the full suite runs it
def test_reservation_amortizes_to_its_purchase_over_the_term(tmp_path):
    out = tmp_path / "lab"
    generate(out, months=12, start="2024-01", seed=5)
    with open_ledger(tmp_path / "l.duckdb") as lg:
        lg.ingest([out / "focus" / "microsoft"])
        c = lg.charges
        res = c.filter(c.CommitmentDiscountId.notnull())
        purchase = res.filter(res.ChargeCategory == "Purchase")
        usage = res.filter(res.ChargeCategory == "Usage")
        # FOCUS: over the term, the covered and unused usage carry exactly the purchase
        [paid] = purchase.BilledCost.execute()
        assert paid == Decimal("1900014.336")  # 4 nodes x 8,784 hours of 2024 x 54.076
        assert purchase.EffectiveCost.sum().execute() == 0
        assert usage.EffectiveCost.sum().execute() == paid
        assert usage.BilledCost.sum().execute() == 0
        statuses = set(usage.CommitmentDiscountStatus.execute())
        assert statuses == {"Used", "Unused"}
        assert set(usage.filter(usage.CommitmentDiscountStatus == "Used").PricingCategory.execute()) == {
            "Committed"
        }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"scale": "huge"}, "--scale"), ({"start": "May 2024"}, "--start"), ({"months": 0}, "--months")],
)
def test_bad_options_are_clear_errors(tmp_path, kwargs, message):
    with pytest.raises(UsageError, match=message):
        generate(tmp_path, **kwargs)


def test_piece_size_does_not_change_the_bytes(company, tmp_path, monkeypatch):
    import sys

    out, _ = company
    module = sys.modules["computeledger.synth.generate"]
    monkeypatch.setattr(module, "CHUNK_ROWS", 7)
    module.generate(tmp_path / "pieces", months=4, start="2024-05", seed=11)
    assert digest(tmp_path / "pieces") == digest(out)


def test_a_correction_credits_an_invoiced_month_on_a_later_bill(company, tmp_path):
    out, _ = company
    [fix] = [r for r in truth(out) if r["month"] != r["charge_month"]]
    assert (fix["provider"], fix["month"], fix["charge_month"]) == ("AWS", "2024-08", "2024-06")
    assert (fix["workload"], fix["model"], fix["billed_cost"]) == ("inference", "atlas-l", "-18450.000000")
    with open_ledger(tmp_path / "l.duckdb") as lg:
        lg.ingest([out / "focus" / "aws"])
        c = lg.charges
        [row] = c.filter(c.ChargeClass == "Correction").to_pyarrow().to_pylist()
    assert row["BilledCost"] == row["EffectiveCost"] == Decimal("-18450")
    assert (row["BillingPeriodStart"].month, row["ChargePeriodStart"].month) == (8, 6)
    assert row["x_quality_flags"] is None  # a correction may bill an earlier period: not odd
    assert row["ResourceName"] == "inf-atlas-l-node-0"


def test_tax_is_one_row_on_the_months_net_charges(company, tmp_path):
    out, _ = company
    with open_ledger(tmp_path / "l.duckdb") as lg:
        lg.ingest([out / "focus" / "oracle"])
        c = lg.charges
        by_month = (
            c.group_by(month=c.BillingPeriodStart.month(), tax=c.ChargeCategory == "Tax")
            .aggregate(billed=c.BilledCost.sum(), n=c.count())
            .execute()
        )
    got = {(r.month, r.tax): (r.billed, r.n) for r in by_month.itertuples()}
    for month in (5, 6, 7, 8):
        tax, n = got[(month, True)]
        assert n == 1
        assert tax == (got[(month, False)][0] * Decimal("0.0625")).quantize(Decimal("0.01"))


def test_block_pricing_keeps_price_times_quantity_equal_to_cost(company, tmp_path):
    out, _ = company
    with open_ledger(tmp_path / "l.duckdb") as lg:
        lg.ingest([out / "focus" / "microsoft"])
        c = lg.charges
        blocks = c.filter(c.PricingUnit == "100 Hours")
        assert blocks.count().execute() > 1000
        price, qty = c.ContractedUnitPrice.cast("decimal(20,6)"), c.PricingQuantity.cast("decimal(18,6)")
        assert blocks.filter(price * qty != c.ContractedCost).count().execute() == 0
        assert blocks.filter(c.PricingQuantity * 100 != c.ConsumedQuantity).count().execute() == 0
        assert set(blocks.ContractedUnitPrice.execute()) == {Decimal("6390.8")}  # 63.908 per hour x 100


@pytest.mark.slow
def test_a_medium_company_ingests_to_its_truth_to_the_last_digit(tmp_path):
    out = tmp_path / "medium"
    made = generate(out, months=12, start="2024-01", scale="medium", seed=2)
    assert made["rows"] > 150_000
    with open_ledger(tmp_path / "l.duckdb") as lg:
        lg.ingest([out / "preliminary"])
        results = lg.ingest([out / "focus"]) + lg.ingest([out / "invoices"], mapping=INVOICE_MAPPING)
        assert sum(r.rows_loaded for r in results) == made["rows"]
        assert sum(r.rows_quarantined for r in results) == 0
        got = {
            (r["provider"], r["billing_month"].strftime("%Y-%m")): (
                r["BilledCost"],
                r["EffectiveCost"],
                r["ListCost"],
                r["rows"],
            )
            for r in lg.summary("provider,billing_month").to_pyarrow().to_pylist()
        }
    expected: dict = defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0), 0])
    for row in truth(out):
        e = expected[(row["provider"], row["month"])]
        e[0] += Decimal(row["billed_cost"])
        e[1] += Decimal(row["effective_cost"])
        e[2] += Decimal(row["list_cost"])
        e[3] += int(row["rows"])
    assert got == {k: tuple(v) for k, v in expected.items()}
    assert len(got) == 60
    # and its unit economics: cost per million tokens and revenue are the truth's
    from tests.economics.test_truth_labs import check_unit_economics

    check_unit_economics(tmp_path / "l.duckdb", out, months=12)
