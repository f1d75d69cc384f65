"""Revenue, revenue share and margin against the lab's truth; the revenue files' promises."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from computeledger import UsageError, open_ledger
from computeledger.cli import app
from computeledger.economics.margin import margin
from computeledger.economics.revenue import unmatched_payments
from computeledger.economics.unit_costs import unit_costs
from computeledger.shipped import DATA
from tests.conftest import truth, write_rows

runner = CliRunner()


def test_revenue_and_share_per_model_channel_and_month_are_the_truths(allocated):
    path, _, out = allocated
    with open_ledger(path, read_only=True) as lg:
        got = margin(lg, "model,channel,month", attribute=False)  # the truth books subscriptions apart
    rows = {(r["month"].strftime("%Y-%m"), r["channel"], r["model"] or "-"): r for r in got.rows}
    expected = truth(out, "revenue")
    assert len(expected) > 20
    for t in expected:
        r = rows[(t["month"], t["channel"], t["model"])]
        assert (r["revenue"], r["revenue_share"]) == (Decimal(t["revenue"]), Decimal(t["revenue_share"]))


def test_margin_is_revenue_less_share_less_cost_exactly(allocated):
    path, _, _ = allocated
    with open_ledger(path, read_only=True) as lg:
        got = margin(lg, "model", attribute=False)
        cost = {r["model"]: r["inference_cost"] for r in unit_costs(lg, "model").rows}
    by_model = {r["model"]: r for r in got.rows}
    for model in ("atlas-l", "swift-s", "embed-e"):
        r = by_model[model]
        assert r["inference_cost"] == cost[model]
        assert r["gross_margin"] == r["revenue"] - r["revenue_share"] - r["inference_cost"]
        assert r["margin_pct"] == (r["gross_margin"] * 100 / r["revenue"]).quantize(Decimal("0.01"))
    # subscriptions sell no one model: revenue known, cost and margin unknown, listed as a gap
    none = by_model[None]
    assert none["revenue"] > 0 and none["inference_cost"] is None and none["gross_margin"] is None
    assert {g["gap"] for g in got.gaps} == {"revenue but no tokens"}


def test_subscription_revenue_is_attributed_by_tokens_and_every_grain_adds_up(allocated):
    """The app channel's revenue (no model) goes to the models that served the app's tokens,
    in proportion to them, labelled estimated; rows add up to the channel and to the total."""
    path, _, out = allocated
    with open_ledger(path, read_only=True) as lg:
        fine = margin(lg, "model,channel,month")
        by_channel = {r["channel"]: r for r in margin(lg, "channel").rows}
        total = margin(lg, "month").rows
        costs = {r["channel"]: r["inference_cost"] for r in unit_costs(lg, "channel").rows}
        apart = {r["channel"]: r for r in margin(lg, "channel", attribute=False).rows}
    truth_revenue = sum(Decimal(t["revenue"]) for t in truth(out, "revenue"))
    assert sum(r["revenue"] for r in total) == truth_revenue
    assert all(r["model"] is not None for r in fine.rows) and not fine.gaps
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for r in fine.rows:
        sums[r["channel"]] += r["revenue"]
    assert sums == {c: r["revenue"] for c, r in by_channel.items()}
    app_months: dict = defaultdict(list)
    for r in fine.rows:
        if r["channel"] == "app":
            app_months[r["month"]].append(r)
            assert "subscription revenue attributed by tokens" in r["provenance"]
    subscriptions = {
        t["month"]: Decimal(t["revenue"]) for t in truth(out, "revenue") if t["channel"] == "app"
    }
    for month, rows in app_months.items():
        assert sum(r["revenue"] for r in rows) == subscriptions[f"{month:%Y-%m}"]
        whole = sum(r["tokens"] for r in rows)
        for r in rows:  # each model's part is the month's subscriptions times its share of tokens
            assert abs(r["revenue"] - subscriptions[f"{month:%Y-%m}"] * r["tokens"] / whole) < Decimal(
                "1e-15"
            )
    # the same cost for the same channel in unit-costs and margin, attributed or not
    for channel, cost in costs.items():
        assert by_channel[channel]["inference_cost"] == cost == apart[channel]["inference_cost"]
        assert by_channel[channel]["gross_margin"] == apart[channel]["gross_margin"]


def test_the_cli_gives_typed_json_with_money_as_strings(allocated):
    path, _, _ = allocated
    r = runner.invoke(app, ["margin", "--by", "channel", "--ledger", str(path), "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    api = {x["channel"]: x for x in rows}
    assert isinstance(api["api"]["revenue"], str) and isinstance(api["api"]["tokens"], int)
    assert Decimal(api["api"]["gross_margin"]) == (
        Decimal(api["api"]["revenue"])
        - Decimal(api["api"]["revenue_share"])
        - Decimal(api["api"]["inference_cost"])
    )
    r = runner.invoke(app, ["unit-costs", "--by", "model", "--ledger", str(path)])
    assert r.exit_code == 0, r.output
    assert "cost_per_million_tokens" in r.output
    r = runner.invoke(app, ["unit-costs", "--by", "colour", "--ledger", str(path)])
    assert r.exit_code == 2 and "unknown dimension 'colour'" in r.output


HEADER = ["invoice_id", "customer", "channel", "period_start", "period_end", "issued_on", "due_on", "model",
          "item", "quantity", "unit", "unit_price", "amount", "currency"]  # fmt: skip


def test_revenue_files_keep_the_promises_of_bills(tmp_path):
    rows = [
        ["INV-1", "c1", "api", "2025-01-01", "2025-02-01", "2025-02-01", "2025-03-01", "m", "input",
         "2000000", "1M tokens", "0.50", "1.00", "USD"],
        ["INV-1", "c1", "api", "2025-01-01", "2025-02-01", "2025-02-01", "2025-03-01", "m", "output",
         "1000000", "1M tokens", "2.00", "2.50", "USD"],  # 1M x 2.00 is 2.00, not 2.50: flagged
        ["CN-1", "c1", "api", "2025-01-01", "2025-02-01", "2025-02-05", "2025-03-01", "m", "credit",
         "", "", "", "-0.30", "USD"],  # a credit note
        ["INV-2", "c2", "api", "2025-01-01", "2025-02-01", "2025-02-01", "2025-03-01", "m", "input",
         "1", "1M tokens", "0.50", "12,5", "USD"],  # damaged amount
    ]  # fmt: skip
    first = write_rows(tmp_path / "invoices.csv", HEADER, rows)
    with open_ledger(tmp_path / "l.duckdb") as lg:
        [r] = lg.ingest_revenue([first])
        assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 4, 3, 1)
        assert r.reasons == ["1 row(s), first at line 5: amount: not a number: '12,5'"]
        t = lg.table("revenue_lines")
        assert t.amount.sum().execute() == Decimal("3.20")
        flagged = t.filter(t.x_quality_flags.notnull())
        assert flagged.item.execute().tolist() == ["output"]
        [again] = lg.ingest_revenue([first])
        assert again.status == "duplicate"
        # INV-1 re-issued: its lines replace the earlier ones
        reissued = write_rows(tmp_path / "reissued.csv", HEADER, [rows[0][:12] + ["0.40", "USD"]])
        [r] = lg.ingest_revenue([reissued])
        assert r.status == "loaded"
        assert t.amount.sum().execute() == Decimal("0.10")  # 0.40 - 0.30
        pay = write_rows(tmp_path / "payments.csv", ["payment_id", "invoice_id", "customer", "paid_on",
                                                     "amount",
                         "currency"], [["P1", "INV-1", "c1", "2025-03-01", "0.40", "USD"],
                                       ["P2", "INV-9", "c9", "2025-03-02", "5.00", "usd"]])  # fmt: skip
        [r] = lg.ingest_revenue([pay])
        assert (r.status, r.rows_loaded) == ("loaded", 2)
        assert [(p["payment_id"], p["currency"]) for p in unmatched_payments(lg)] == [("P2", "USD")]
        q = lg.quarantine
        assert q.count().execute() == 1


def test_mixed_currencies_are_refused_not_converted(allocated, tmp_path):
    import shutil

    path, _, _ = allocated
    copy = tmp_path / "copy.duckdb"
    shutil.copy(path, copy)
    euros = write_rows(tmp_path / "eur.csv", HEADER, [
        ["INV-EUR", "c1", "api", "2024-06-01", "2024-07-01", "2024-07-01", "2024-08-01", "atlas-l", "input",
         "1000000", "1M tokens", "1.00", "1.00", "EUR"]])  # fmt: skip
    with open_ledger(copy) as lg:
        lg.ingest_revenue([euros])
        with pytest.raises(UsageError, match=r"more than one currency \(EUR, USD\)"):
            margin(lg, "model")


def test_a_stripe_export_comes_in_through_the_shipped_mapping(tmp_path):
    header = ["id", "invoice_id", "customer", "customer_metadata_channel", "price_metadata_model",
              "description",
              "quantity", "unit_amount_decimal", "amount", "currency", "period_start", "period_end",
              "invoice_created", "invoice_due_date"]  # fmt: skip
    rows = [["il_1", "in_1", "cus_1", "api", "atlas-l", "output", "3", "1250.5", "3752", "usd",
             "2025-01-01 00:00:00", "2025-02-01 00:00:00", "2025-02-01 00:00:00",
             "2025-03-03 00:00:00"]]  # fmt: skip
    f = write_rows(tmp_path / "stripe.csv", header, rows)
    with open_ledger(tmp_path / "l.duckdb") as lg:
        [r] = lg.ingest_revenue([f], mapping=DATA / "mappings" / "stripe_invoice_lines.toml")
        assert r.status == "loaded", r.message
        [line] = lg.table("revenue_lines").to_pyarrow().to_pylist()
    assert (line["amount"], line["unit_price"], line["currency"]) == (
        Decimal("37.52"),
        Decimal("12.505"),
        "USD",
    )
    assert line["period_start"].isoformat() == "2025-01-01" and line["model"] == "atlas-l"
    by = defaultdict(Decimal)
    by[line["customer"]] += line["amount"]
    assert by == {"cus_1": Decimal("37.52")}
