"""ingest-cash: exact, conserved, idempotent; bad bank lines listed, never dropped."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from computeledger import open_ledger
from computeledger.accounting.statement import gather, statement
from computeledger.cli import app
from computeledger.errors import UsageError

BANK = "date,counterparty,kind,reference,amount,currency\n"


@pytest.fixture
def copy(books, tmp_path):
    path = tmp_path / "ledger.duckdb"
    shutil.copy(books[0], path)
    return path, books[1]


def test_identical_file_is_a_duplicate_and_bad_rows_are_quarantined(copy, tmp_path):
    path, out = copy
    bank = tmp_path / "bank.csv"
    bank.write_text(
        BANK + "2024-07-02,AWS,cloud_bill,2024-06,-10.005,USD\n"
        "2024-07-03,X,other,r,1_000,USD\n2024-07-04,Y,other,r,,USD\nnot-a-date,Z,other,r,5,USD\n"
    )
    with open_ledger(path) as lg:
        [dup] = lg.ingest_cash([out / "finance" / "bank.csv"])
        [r] = lg.ingest_cash([bank])
        assert (dup.status, dup.rows_loaded) == ("duplicate", 0)
        assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 4, 1, 3)
        q = lg.quarantine.filter(lg.quarantine.ingest_id == r.ingest_id).order_by("source_line").execute()
        assert list(q.source_line) == [3, 4, 5]
        assert "amount" in q.reason[0] and "amount: missing" in q.reason[1] and "date" in q.reason[2]
        line = lg.table("cash").filter(lg.table("cash").ingest_id == r.ingest_id).execute()
        assert line.amount.tolist() == [Decimal("-10.005")]


def test_a_later_statement_replaces_the_same_dates(copy, tmp_path):
    path, _out = copy
    first = tmp_path / "q3a.csv"
    first.write_text(
        BANK + "2024-07-02,Acme,customer_payment,INV-1,100.00,USD\n"
        "2024-07-20,Acme,customer_payment,INV-2,50.00,USD\n"
    )
    second = tmp_path / "q3b.csv"
    second.write_text(
        BANK + "2024-07-02,Acme,customer_payment,INV-1,100.00,USD\n"
        "2024-07-20,Acme,customer_payment,INV-2,50.00,USD\n"
        "2024-08-01,Acme,customer_payment,INV-3,70.00,USD\n"
    )
    with open_ledger(path) as lg:
        lg.ingest_cash([first])
        lg.ingest_cash([second])
        t = lg.table("cash")
        got = t.filter(t.date >= __import__("datetime").date(2024, 7, 2)).amount.sum().to_pyarrow().as_py()
    assert got == Decimal("220.00")  # not 370: the two July lines once


def test_unmatched_and_overpaid_lines_are_listed_not_dropped(copy, tmp_path):
    path, _out = copy
    bank = tmp_path / "extra.csv"
    bank.write_text(
        BANK + "2024-06-25,Lambda Labs,cloud_bill,LL-1,-5000.00,USD\n"
        "2024-06-26,AWS,cloud_bill,2024-01,-1.00,USD\n"
    )
    with open_ledger(path) as lg:
        lg.ingest_cash([bank])
        s = statement(lg, grain="month", bases=("cash",), start="2024-06", end="2024-06")
        before = statement(lg, grain="month", bases=("cash",), start="2024-05", end="2024-05")
    assert [(ln["counterparty"], ln["amount"]) for ln in s.unmatched] == [
        ("Lambda Labs", Decimal("-5000.00"))
    ]
    assert [(b["provider"], b["billing_month"]) for b in s.overpaid] == [("AWS", "2024-01")]
    [row] = s.rows
    assert any("pay no bill" in n for n in s.notes) and any("paid more" in n for n in s.notes)
    assert row["cash_out"] - row["revenue_share"] - row["total_compute"] == 0
    assert before.rows[0]["total_compute"] > 0


def test_mixed_currencies_are_refused(copy, tmp_path):
    path, _ = copy
    bank = tmp_path / "eur.csv"
    bank.write_text(BANK + "2024-06-25,Acme,customer_payment,INV-9,100.00,EUR\n")
    with open_ledger(path) as lg:
        lg.ingest_cash([bank])
        with pytest.raises(UsageError, match=r"EUR, USD.*no exchange rate"):
            gather(lg)


def test_a_mapped_bank_export(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text("Booking Date;Payee;Memo;Amount (cents);Ccy\n2024-07-01;AWS;2024-06;-123456;usd\n")
    mapping = tmp_path / "bank.toml"
    mapping.write_text(
        'kind = "bank"\n[columns]\ndate = "Booking Date"\ncounterparty = "Payee"\n'
        'reference = "Memo"\ncurrency = "Ccy"\n[expressions]\namount = \'"Amount (cents)" / 100\'\n'
    )
    with open_ledger(tmp_path / "l.duckdb") as lg:
        [r] = lg.ingest_cash([export], mapping=mapping)
        assert (r.status, r.rows_loaded) == ("loaded", 1), r.message
        row = lg.table("cash").execute().iloc[0]
    assert (row.amount, row.currency, row.reference) == (Decimal("-1234.56"), "USD", "2024-06")


def test_cli_statement_bridge_and_ledgers(books):
    path, _, contracts = books
    runner = CliRunner()
    args = ["--ledger", str(path), "--contracts", str(contracts)]
    r = runner.invoke(app, ["statement", "--period", "2024-Q2", "--format", "json", *args])
    assert r.exit_code == 0, r.output
    import json

    rows = json.loads(r.output)
    assert [x["basis"] for x in rows] == ["billed", "effective", "cash"]
    cash = rows[2]
    assert isinstance(cash["total_compute"], str) and cash["total_compute"] == "2980975.8313"
    r = runner.invoke(app, ["statement", "--bridge", "--period", "2024-Q2", *args])
    assert r.exit_code == 0 and "change in payables" in r.output
    r = runner.invoke(app, ["statement", "--bridge", "--period", "quarter", *args])
    assert r.exit_code == 2 and "one period" in r.output
    for command in ("commitments", "credits", "revenue-share"):
        r = runner.invoke(app, [command, *args, "--format", "csv"])
        assert r.exit_code == 0, (command, r.output)
    r = runner.invoke(app, ["statement", "--ledger", str(path), "--basis", "accrual"])
    assert r.exit_code == 2 and "billed, effective, cash" in r.output


def test_contracts_file_errors_name_the_place(tmp_path):
    from computeledger.accounting.contracts import load_contracts

    bad = tmp_path / "c.toml"
    for text, message in [
        (
            '[[commitments]]\nid = "x"\nprovider = "P"\ntotal = 1.5\ncurrency = "USD"\n'
            "start = 2024-01-01\nmonths = 3\n",
            "commitments\\[0\\].total: 1.5: write money as a string",
        ),
        ('[[credits]]\nprovider = "P"\namount = "-5"\ncurrency = "USD"\n', "not a positive grant"),
        ('[[revenue_share]]\npartner = "P"\nrate = "1.5"\n', "between 0 and 1"),
        (
            '[[commitments]]\nid = "x"\nprovider = "P"\ntotal = "10"\ncurrency = "USD"\nstart = 2024-01-01\n'
            'months = 3\npayments = [{ date = 2024-01-01, amount = "4" }]\n',
            "payments add up to 4, not the total 10",
        ),
        ('[payment_terms]\nAWS = "soon"\n', "payment_terms.AWS"),
        ("[surprise]\n", "unknown key 'surprise'"),
        ("not toml [", "not TOML"),
    ]:
        bad.write_text(text)
        with pytest.raises(UsageError, match=message):
            load_contracts(bad)


def test_each_accounts_opening_balance_counts_from_its_own_date(copy, tmp_path):
    """A second account's opening balance is neither dropped nor moved to the first month."""
    path, out = copy

    def months(lg) -> list[dict]:
        return statement(lg, start="2024-01", end="2024-06", bases=("cash",),
                         contracts=out / "finance" / "contracts.toml").rows  # fmt: skip

    with open_ledger(path, read_only=True) as lg:
        rows = months(lg)
    closing = {r["period"]: r["closing_cash"] for r in rows}
    bank = tmp_path / "savings.csv"
    bank.write_text("account,date,counterparty,kind,reference,amount,currency\n"
                    "savings,2024-03-10,,opening_balance,,1000000.00,USD\n"
                    "savings,2024-04-02,Bank,interest,r,12.34,USD\n")  # fmt: skip
    with open_ledger(path) as lg:
        [r] = lg.ingest_cash([bank])
        assert (r.status, r.rows_loaded) == ("loaded", 2)
        after = months(lg)
    got = {r["period"]: r for r in after}
    assert got["2024-01"]["opening_cash"] == rows[0]["opening_cash"]  # January opens as before
    assert got["2024-02"]["closing_cash"] == closing["2024-02"]
    assert got["2024-03"]["closing_cash"] == closing["2024-03"] + Decimal("1000000.00")
    assert got["2024-04"]["closing_cash"] == closing["2024-04"] + Decimal("1000012.34")
    assert got["2024-04"]["cash_in"] - {r["period"]: r for r in rows}["2024-04"]["cash_in"] == Decimal(
        "12.34"
    )


def test_a_grant_in_another_currency_is_refused_not_used_up(copy, tmp_path):
    from computeledger.accounting.credits import credits

    path, out = copy
    text = (out / "finance" / "contracts.toml").read_text()
    eur = tmp_path / "eur.toml"
    eur.write_text(text + '\n[[credits]]\nid = "eu"\nprovider = "AWS"\namount = "5000"\ncurrency = "EUR"\n')
    with open_ledger(path, read_only=True) as lg, pytest.raises(UsageError, match="EUR, USD"):
        credits(lg, eur)
    with open_ledger(path, read_only=True) as lg, pytest.raises(UsageError, match="EUR, USD"):
        gather(lg, eur)


@pytest.mark.slow  # a thousand accounts, twice
def test_a_restated_statement_of_a_thousand_accounts_replaces_each(tmp_path):
    """One account a line, a thousand of them: the restatement replaces every account's
    span (once a RecursionError in the replacing predicate)."""
    lines = [f"acct{i},2024-01-{i % 28 + 1:02d},X,other,r,{i}.00,USD" for i in range(1000)]
    bank = tmp_path / "bank.csv"
    bank.write_text("account,date,counterparty,kind,reference,amount,currency\n" + "\n".join(lines) + "\n")
    with open_ledger(tmp_path / "l.duckdb") as lg:
        [first] = lg.ingest_cash([bank])
        bank.write_text(
            bank.read_text().replace("acct0,2024-01-01,X,other,r,0.00", "acct0,2024-01-01,X,other,r,0.01")
        )
        [again] = lg.ingest_cash([bank])
        got = lg.table("cash").aggregate(n=lambda t: t.count(), total=lambda t: t.amount.sum()).execute()
    assert (first.rows_loaded, again.status, again.rows_loaded) == (1000, "loaded", 1000)
    assert (int(got.n[0]), got.total[0]) == (1000, Decimal("499500.01"))
