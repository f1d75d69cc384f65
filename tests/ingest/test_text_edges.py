"""Text at the edges of what the readers take: files not in UTF-8, timestamps whose offset
moves them into another month, and invoice lines whose quantity x price passes 38 digits
(issue 29, items 10)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import read_rows, write_rows

INVOICES = (
    "invoice_id,customer,channel,period_start,period_end,model,quantity,unit,unit_price,amount,currency\n"
)
PAYMENTS = "payment_id,paid_on,amount,currency\np1,2024-01-05,100,USD\n"


@pytest.mark.parametrize(
    ("encoding", "says"),
    [
        ("utf-16", "encoded as UTF-16 (its byte-order mark is FF FE)"),
        ("utf-16-be-bom", "encoded as UTF-16 (its byte-order mark is FE FF)"),
        ("utf-32", "encoded as UTF-32"),
        ("utf-16-le", "is mostly NUL bytes"),
    ],
)
def test_a_file_not_in_utf8_is_refused_saying_so(ledger, tmp_path, encoding, says):
    """Before: a UTF-16 revenue file was 'not a revenue file' (its columns unreadable)."""

    def encoded(text: str) -> bytes:
        if encoding == "utf-16-be-bom":
            return b"\xfe\xff" + text.encode("utf-16-be")
        return text.encode(encoding)

    (tmp_path / "pay.csv").write_bytes(encoded(PAYMENTS))
    (tmp_path / "usage.jsonl").write_bytes(encoded('{"model": "m"}\n'))
    [paid] = ledger.ingest_revenue([tmp_path / "pay.csv"])
    [used] = ledger.ingest_usage([tmp_path / "usage.jsonl"])
    assert (paid.status, used.status) == ("refused", "refused")
    assert says in paid.message and says in used.message
    assert "UTF-8" in paid.message
    assert ledger.store.table("payments").count().to_pyarrow().as_py() == 0


def test_a_bill_in_utf16_is_refused_saying_so(ledger, tmp_path, sample):
    text = sample.read_text(encoding="utf-8-sig")
    path = tmp_path / "bill.csv"
    path.write_bytes(text.encode("utf-16"))
    [r] = ledger.ingest([path])
    assert r.status == "refused" and "encoded as UTF-16" in r.message
    assert ledger.store.table("charges").count().to_pyarrow().as_py() == 0


def test_a_utf8_mark_is_still_read(ledger, tmp_path):
    path = tmp_path / "pay.csv"
    path.write_bytes(b"\xef\xbb\xbf" + PAYMENTS.encode())
    [r] = ledger.ingest_revenue([path])
    assert (r.status, r.rows_loaded) == ("loaded", 1)


def test_an_offset_that_moves_a_charge_into_another_month_is_flagged(ledger, tmp_path, sample):
    """The ledger's months are UTC months: 2024-03-31T23:00-05:00 is April's, and says so."""
    header, rows = read_rows(sample)
    rows = rows[:3]
    start, end = header.index("ChargePeriodStart"), header.index("ChargePeriodEnd")
    rows[0][start], rows[0][end] = "2024-03-31T23:00-05:00", "2024-04-01T00:00-05:00"
    rows[1][start], rows[1][end] = "2024-03-31T10:00:00-05:00", "2024-03-31T11:00:00-05:00"
    rows[2][start], rows[2][end] = "2024-04-01t01:00:00+02:00", "2024-04-01t02:00:00+02:00"
    [r] = ledger.ingest([write_rows(tmp_path / "bill.csv", header, rows)])
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 3, 0), r.reasons
    got = ledger.store.table("charges").order_by("x_source_line").to_pyarrow().to_pylist()
    assert [g["ChargePeriodStart"].isoformat() for g in got] == [
        "2024-04-01T04:00:00", "2024-03-31T15:00:00", "2024-03-31T23:00:00"]  # fmt: skip
    flags = [set((g["x_quality_flags"] or "").split(";")) for g in got]
    assert "offset_moved_month:ChargePeriodStart" in flags[0]
    assert "offset_moved_month:ChargePeriodEnd" not in flags[0]  # 05:00 on April 1st either way
    assert not any(f.startswith("offset_moved_month") for f in flags[1])
    assert "offset_moved_month:ChargePeriodStart" in flags[2]
    assert "offset_moved_month:ChargePeriodEnd" not in flags[2]  # 00:00 on April 1st in UTC


def test_an_offset_that_moves_a_document_date_is_counted_and_flagged(ledger, tmp_path):
    (tmp_path / "pay.csv").write_text(
        "payment_id,paid_on,amount,currency\n"
        "p1,2024-03-31T23:00:00-05:00,100,USD\n"
        "p2,2024-03-31T10:00-05:00,100,USD\n"
        "p3,2024-04-01T01:00:00+02:00,100,USD\n"
    )
    invoice = "I,acme,api,2024-03-01,2024-03-31T23:00-05:00,m,1,,5,5.00,USD\n"
    (tmp_path / "inv.csv").write_text(INVOICES + invoice)
    paid, billed = ledger.ingest_revenue([tmp_path / "pay.csv", tmp_path / "inv.csv"])
    assert (paid.rows_loaded, paid.rows_quarantined) == (3, 0)
    assert paid.message.startswith("2 row(s) with a time and offset fall in another month in UTC")
    days = ledger.store.table("payments").order_by("payment_id").paid_on.to_pyarrow().to_pylist()
    assert [d.isoformat() for d in days] == ["2024-04-01", "2024-03-31", "2024-03-31"]
    [line] = ledger.store.table("revenue_lines").to_pyarrow().to_pylist()
    assert line["period_end"].isoformat() == "2024-04-01"
    assert line["x_quality_flags"] == "offset_moved_month:period_end"
    assert billed.message.startswith("1 row(s)")


def test_a_product_past_38_digits_flags_its_line_not_the_file(ledger, tmp_path):
    """Before: one line's quantity x price overflowed the engine and refused the whole file."""
    (tmp_path / "inv.csv").write_text(
        INVOICES
        + "A,acme,api,2024-01-01,2024-01-31,m,2000000,per 1M tokens,5,10.00,USD\n"
        + "B,acme,api,2024-01-01,2024-01-31,m,100000000000000000,per 1M tokens,9999999999999,10.00,USD\n"
        + "C,acme,api,2024-01-01,2024-01-31,m,2000000,per 1M tokens,5,11.00,USD\n"
        + "D,acme,api,2024-01-01,2024-01-31,m,1,1M tokens,1,99999999999999999999,USD\n"
    )
    [r] = ledger.ingest_revenue([tmp_path / "inv.csv"])
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 4, 0), r.message
    lines = ledger.store.table("revenue_lines").to_pyarrow().to_pylist()
    flags = {x["invoice_id"]: x["x_quality_flags"] for x in lines}
    unchecked = "amount_unchecked:quantity_times_price_past_18_digits"
    assert flags == {"A": None, "B": unchecked, "C": "amount_not_quantity_times_price", "D": unchecked}


def test_otlp_counts_as_json_numbers_beside_strings(ledger, tmp_path):
    """One span's intValue as a JSON number among string ones: every span loads."""

    def span(count):
        attributes = [
            {"key": "gen_ai.request.model", "value": {"stringValue": "m"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": count}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "20"}},
        ]
        return {"startTimeUnixNano": "1704067200000000000", "endTimeUnixNano": "1704153600000000000",
                "attributes": attributes, "name": "chat"}  # fmt: skip

    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [span("100"), span(7), span("3")]}]}]}
    (tmp_path / "spans.json").write_text(json.dumps(doc))
    [r] = ledger.ingest_usage([tmp_path / "spans.json"])
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 3, 0), r.reasons
    tokens = ledger.store.table("usage").input_tokens.sum().to_pyarrow().as_py()
    assert tokens == 110
