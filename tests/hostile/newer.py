# ruff: noqa: E501  (tables of cases: one case a line reads best)
"""Hostile cases of the newer commands (issue 29): revenue and cash files, contracts,
scenarios, budgets and the arguments of statement, forecast, anomalies and report. Each
names what it must say; a refusal leaves the ledger and every input file as they were."""

from __future__ import annotations

from tests.hostile.corpus import Case, _bill, _csv, _otlp

LAB = "{ledger}"
K = ("--contracts", "{contracts}")

_COMMITMENT = (
    'id = "{id}"\nprovider = "P"\ntotal = "{total}"\ncurrency = "{cur}"\nstart = {start}\nmonths = {months}\n'
)
_GRANT = 'id = "{id}"\nprovider = "P"\namount = "{amount}"\ncurrency = "{cur}"\n'


def _commitment(**change) -> str:
    values = {"id": "k1", "total": "1200", "cur": "USD", "start": "2024-01-01", "months": "12"} | change
    return "[[commitments]]\n" + _COMMITMENT.format(**values)


def _grant(extra: str = "", **change) -> str:
    values = {"id": "g", "amount": "1000", "cur": "USD"} | change
    return "[[credits]]\n" + _GRANT.format(**values) + extra


#: contracts file -> what the refusal says
CONTRACTS = {
    "currency-symbol": (_commitment(cur="US$"), "three-letter ISO 4217"),
    "currency-number": (_commitment(cur="840"), "three-letter ISO 4217"),
    "currency-euro-sign": (_commitment(cur="€"), "three-letter ISO 4217"),
    "grant-currency-symbol": (_grant(cur="$"), "three-letter ISO 4217"),
    "grant-currency-eur": (_grant(cur="EUR"), "EUR, USD"),
    "commitment-currency-eur": (_commitment(cur="EUR"), "EUR, USD"),
    "commitment-ids-twice": (_commitment() + _commitment(), "commitments[0] and [1]: the id 'k1' twice"),
    "grant-ids-twice": (_grant() + _grant(), "credits[0] and [1]: the id 'g' twice"),
    "grants-one-provider-no-id": (
        '[[credits]]\nprovider = "P"\namount = "1"\ncurrency = "USD"\n' * 2,
        "the id 'P' twice",
    ),
    "commitment-zero": (_commitment(total="0"), "not a positive commitment"),
    "commitment-negative": (_commitment(total="-5"), "not a positive commitment"),
    "commitment-months-zero": (_commitment(months="0"), "a whole number from 1 to 600"),
    "commitment-months-negative": (_commitment(months="-12"), "a whole number from 1 to 600"),
    "commitment-months-float": (_commitment(months="12.9"), "a whole number from 1 to 600"),
    "commitment-months-text": (_commitment(months='"12.9"'), "a whole number from 1 to 600"),
    "commitment-start-9999": (_commitment(start="9999-12-01"), "a year from 1900 to 9998"),
    "commitment-start-0001": (_commitment(start="0001-01-01"), "a year from 1900 to 9998"),
    "commitment-start-datetime": (_commitment(start="2024-01-01T00:00:00"), "not a time"),
    "commitment-total-1e30": (_commitment(total="1e30"), "past the ledger's range"),
    "commitment-payment-negative": (
        _commitment()
        + 'payments = [{ date = 2024-01-01, amount = "1300" }, { date = 2024-02-01, amount = "-100" }]\n',
        "every payment is a positive amount",
    ),
    "grant-negative": (_grant(amount="-1"), "not a positive grant"),
    "grant-1e30": (_grant(amount="1e30"), "past the ledger's range"),
    "grant-expires-before-start": (
        _grant("start = 2024-06-01\nexpires = 2024-01-01\n"),
        "is not after start",
    ),
    "grant-expires-datetime": (_grant("expires = 2025-01-01T00:00:00\n"), "not a time"),
    "grant-expires-9999": (_grant("expires = 9999-12-31\n"), "a year from 1900 to 9998"),
    "share-rate-1.5": ('[[revenue_share]]\npartner = "M"\nrate = "1.5"\n', "not a share between 0 and 1"),
    "share-rate-negative": (
        '[[revenue_share]]\npartner = "M"\nrate = "-0.1"\n',
        "not a share between 0 and 1",
    ),
    "share-channels-text": (
        '[[revenue_share]]\npartner = "M"\nrate = "0.2"\nchannels = "api"\n',
        "a list of names",
    ),
    "share-settlement-week": (
        '[[revenue_share]]\npartner = "M"\nrate = "0.2"\nsettlement = "week"\n',
        "month or quarter",
    ),
    "terms-negative": ("[payment_terms]\ndefault = -1\n", "a whole number from 0 to 3650"),
    "commitments-a-table": ("[commitments]\nid = 1\n", "a list of tables"),
    "money-float": (_commitment(total="x").replace('"x"', "1200.5"), "a float is not exact"),
}

#: scenario file -> what the refusal says
SCENARIOS = {
    "growth-below-minus-one": ('[traffic]\ngrowth = "-1.5"\n', "traffic growth"),
    "growth-range-below-minus-one": ("[traffic]\ngrowth = { low = -2, high = 0.1 }\n", "traffic growth"),
    "growth-huge": ('[traffic]\ngrowth = "50"\n', "traffic growth"),
    "efficiency-two": ('[efficiency]\nper_year = "2"\n', "efficiency.per_year"),
    "efficiency-one": ('[efficiency]\nper_year = "1"\n', "efficiency.per_year"),
    "efficiency-normal-wide": ("[efficiency]\nper_year = { mean = 0.5, sd = 5 }\n", "efficiency.per_year"),
    "noise-huge": ('[traffic]\nnoise = "1e6"\n', "noise"),
    "noise-negative": ('[traffic]\ngrowth = "0.01"\nnoise = "-1"\n', "noise"),
    "models-number": ("[traffic]\nmodels = 5\n", "[traffic.models]"),
    "models-text": ('[traffic]\nmodels = "all"\n', "[traffic.models]"),
    "months-float": ('[scenario]\nmonths = "12.9"\n', "a whole number from 1 to 120"),
    "draws-float": ('[scenario]\ndraws = "100.5"\n', "a whole number from 1 to 200000"),
    "seed-negative": ("[scenario]\nseed = -1\n", "seed"),
    "seed-float": ('[scenario]\nseed = "1.5"\n', "seed"),
    "commitment-months-float": (
        '[[commitments]]\namount = "1000"\nfrom = "2024-08"\nmonths = "12.9"\n',
        "[[commitments]] 1 months",
    ),
    "commitment-months-zero": ('[[commitments]]\namount = "1000"\nfrom = "2024-08"\nmonths = 0\n', "months"),
    "commitment-from-9999": ('[[commitments]]\namount = "1000"\nfrom = "9999-12"\n', "a year from 1900"),
    "credit-negative": ('[[credits]]\namount = "-5"\nfrom = "2024-08"\n', "a positive grant"),
    "credit-expires-before": (
        '[[credits]]\namount = "5"\nfrom = "2024-08"\nexpires = "2024-01"\n',
        "is not after from",
    ),
    "credit-from-year-0": ('[[credits]]\namount = "5"\nfrom = "0000-01"\n', "a year from 1900"),
    "price-change-minus-two": ('[[prices]]\nfrom = "2024-08"\nchange = "-2"\n', "a price is never negative"),
    "price-of-bogus": ('[[prices]]\nfrom = "2024-08"\nchange = "0.1"\nof = "tax"\n', "revenue or cost"),
    "funding-9999": ('[[funding]]\nmonth = "9999-12"\namount = "5"\n', "a year from 1900"),
    "funding-quarter": ('[[funding]]\nmonth = "2024-Q3"\namount = "5"\n', "a month as YYYY-MM"),
    "opening-cash-1e26": ('[scenario]\nopening_cash = "1e26"\n', "opening_cash"),
    "other-compute-huge": (
        '[fixed]\nother_compute = "1e14"\n[scenario]\nmonths = 120\n',
        "leaves the ledger's range",
    ),
    "other-growth-below-minus-one": ('[revenue]\nother_growth = "-3"\n', "other_growth"),
    "funding-a-table": ("[funding]\nmonth = 1\n", "[[funding]] is a list of tables"),
}

#: budgets file -> what the refusal says
BUDGETS = {
    "year-before-data": (
        '[[budgets]]\nname = "b"\nperiod = "2019"\namount = "1"\n',
        "starts before the ledger's",
    ),
    "quarter-before-data": (
        '[[budgets]]\nname = "b"\nperiod = "2023-Q4"\namount = "1"\n',
        "so its actual is unknown",
    ),
    "year-9999": ('[[budgets]]\nname = "b"\nperiod = "9999"\namount = "1"\n', "a year from 1900 to 9998"),
    "year-0000": ('[[budgets]]\nname = "b"\nperiod = "0000"\namount = "1"\n', "a year from 1900 to 9998"),
    "month-9999-12": (
        '[[budgets]]\nname = "b"\nperiod = "9999-12"\namount = "1"\n',
        "a year from 1900 to 9998",
    ),
    "amount-zero": ('[[budgets]]\nname = "b"\nperiod = "2024"\namount = "0"\n', "amount must be positive"),
    "amount-float": ('[[budgets]]\nname = "b"\nperiod = "2024"\namount = 1.5\n', "a whole number"),
}


def _statement(*args: str) -> tuple[str, ...]:
    return ("statement", "--ledger", LAB, *args, *K)


#: command line -> what the refusal says (on the six-month lab, 2024-01 to 2024-06)
ARGUMENTS = {
    "statement-2019-Q1": (
        _statement("--period", "2019-Q1"),
        "outside the ledger's data (2024-01 to 2024-06)",
    ),
    "statement-2031-Q1": (_statement("--period", "2031-Q1"), "outside the ledger's data"),
    "statement-2023": (_statement("--period", "2023"), "outside the ledger's data"),
    "statement-2024-07": (_statement("--period", "2024-07"), "outside the ledger's data"),
    "statement-9999": (_statement("--period", "9999"), "a year from 1900 to 9998"),
    "statement-9999-12": (_statement("--period", "9999-12"), "a year from 1900 to 9998"),
    "statement-0000": (_statement("--period", "0000"), "a year from 1900 to 9998"),
    "statement-from-1800": (_statement("--from", "1800-01"), "a year from 1900 to 9998"),
    "statement-range-outside": (
        _statement("--from", "2030-01", "--to", "2030-06"),
        "outside the ledger's data",
    ),
    "statement-to-before-from": (_statement("--from", "2024-05", "--to", "2024-02"), "before --from"),
    "bridge-9999-Q4": (_statement("--bridge", "--period", "9999-Q4"), "a year from 1900 to 9998"),
    "bridge-2019-Q1": (_statement("--bridge", "--period", "2019-Q1"), "outside the ledger's data"),
    "bridge-2024-Q3": (_statement("--bridge", "--period", "2024-Q3"), "outside the ledger's data"),
    "statement-rules-version-unknown": (_statement("--rules-version", "deadbeef"), "no allocation of it"),
    "margin-rules-version-unknown": (
        ("margin", "--ledger", LAB, "--rules-version", "deadbeef"),
        "no allocation of it",
    ),
    "unit-costs-rules-version-unknown": (
        ("unit-costs", "--ledger", LAB, "--rules-version", "deadbeef"),
        "no allocation of it",
    ),
    "forecast-rules-version-unknown": (
        ("forecast", "--ledger", LAB, "inference", "--rules-version", "deadbeef"),
        "no allocation of it",
    ),
    "forecast-above-comma-decimal": (
        ("forecast", "--ledger", LAB, "cash", "--below", "1,5M", "--by", "2024-09", *K),
        "a comma only between thousands",
    ),
    "forecast-above-comma-misplaced": (
        ("forecast", "--ledger", LAB, "cash", "--below", "15,00,000", "--by", "2024-09", *K),
        "a comma only between thousands",
    ),
    "forecast-by-past-horizon": (
        ("forecast", "--ledger", LAB, "cash", "--below", "60M", "--by", "2025-06", "--horizon", "3", *K),
        "raise --horizon",
    ),
    "forecast-by-9999": (
        ("forecast", "--ledger", LAB, "cash", "--below", "60M", "--by", "9999-12", *K),
        "write a date",
    ),
    "forecast-seed-negative": (("forecast", "--ledger", LAB, "cash", "--seed", "-1", *K), "--seed"),
    "anomalies-basis-bogus": (("anomalies", "--ledger", LAB, "--basis", "bogus"), "billed or effective"),
    "anomalies-basis-cash": (("anomalies", "--ledger", LAB, "--basis", "cash"), "billed or effective"),
    "report-out-ledger": (
        ("report", "--ledger", LAB, "--out", LAB, *K),
        "that is the ledger this command reads",
    ),
    "report-out-contracts": (
        ("report", "--ledger", LAB, "--out", "{contracts}", *K),
        "that is the contracts file this command reads",
    ),
    "report-to-9999-12": (
        ("report", "--ledger", LAB, "--out", "{d}/r.html", "--to", "9999-12"),
        "a year from 1900",
    ),
    "report-from-after-to": (
        ("report", "--ledger", LAB, "--out", "{d}/r.html", "--from", "2024-05", "--to", "2024-02"),
        "--to is before --from",
    ),
    "report-range-empty": (
        ("report", "--ledger", LAB, "--out", "{d}/r.html", "--from", "2031-01"),
        "no charges in the ledger for 2031-01",
    ),
    "report-out-proc": (("report", "--ledger", LAB, "--out", "/proc/r.html"), "--out /proc/r.html"),
    "report-out-dev-full": (("report", "--ledger", LAB, "--out", "/dev/full"), "not a regular file"),
    "report-out-long-name": (("report", "--ledger", LAB, "--out", "{d}/" + "r" * 300 + ".html"), "--out"),
    "synth-seed-negative": (("synth", "--out", "{d}/lab", "--seed", "-1"), "--seed"),
}


#: periods no command reads: past the calendar, or not a period at all (the last: 2024 in
#: full-width digits, which Python's \\d would read)
BAD_PERIODS = {
    "9999": "a year from 1900 to 9998", "9999-12": "a year from 1900 to 9998", "0000": "a year from 1900 to 9998",
    "1899-12": "a year from 1900 to 9998", "2024-00": "no month 00", "10000": "write a year",
    "2024-Q5": "write a year", "-2024": "write a year", "2024-1": "write a year", "\uff12\uff10\uff12\uff14": "write a year",
}  # fmt: skip
_PERIOD_OPTIONS = {
    "statement-period": lambda p: _statement("--period", p),
    "bridge-period": lambda p: _statement("--bridge", "--period", p),
    "report-to": lambda p: ("report", "--ledger", LAB, "--out", "{d}/r.html", "--to", p),
    "forecast-by": lambda p: ("forecast", "--ledger", LAB, "cash", "--below", "1M", "--by", p, *K),
}
for _option, _argv in _PERIOD_OPTIONS.items():
    for _period, _says in BAD_PERIODS.items():
        ARGUMENTS[f"{_option}-{_period}"] = (_argv(_period), "--by" if _option == "forecast-by" else _says)


def _revenue(head: str, *rows: str) -> bytes:
    return (head + "\n" + "\n".join(rows) + "\n").encode()


PAYMENTS = "payment_id,paid_on,amount,currency"
INVOICES = (
    "invoice_id,customer,channel,period_start,period_end,model,quantity,unit,unit_price,amount,currency"
)
SHARES = "statement_id,partner,period_start,period_end,rate,amount,currency"
_INVOICE = "INV-1,acme,api,2024-01-01,2024-01-31,m,2000000,per 1M tokens,5,10.00,USD"

#: (file name, text, the quarantined line's reason): loaded, the bad line held back
PARTIAL = {
    "payment-id-twice": ("p.csv", _revenue(PAYMENTS, "p1,2024-01-05,100,USD", "p1,2024-01-05,100,USD"),
                         "payment_id p1 repeats line 2"),
    "payment-currency-symbol": ("p.csv", _revenue(PAYMENTS, "p1,2024-01-05,100,USD", "p2,2024-01-05,100,US$"),
                                "currency US$"),
    "payment-currency-number": ("p.csv", _revenue(PAYMENTS, "p1,2024-01-05,100,USD", "p2,2024-01-05,100,840"),
                                "currency 840"),
    "payment-currency-euro-sign": ("p.csv", _revenue(PAYMENTS, "p1,2024-01-05,1,USD", "p2,2024-01-05,1,€"),
                                   "three-letter ISO 4217"),
    "invoice-line-twice": ("i.csv", _revenue(INVOICES, _INVOICE, _INVOICE), "the whole line repeats line 2"),
    "invoice-period-backwards": (
        "i.csv", _revenue(INVOICES, _INVOICE, "INV-2,acme,api,2024-02-01,2024-01-01,m,1,1M tokens,1,0.00,USD"),
        "period_end 2024-01-01 is before period_start 2024-02-01",
    ),
    "invoice-currency-symbol": ("i.csv", _revenue(INVOICES, _INVOICE, _INVOICE.replace("USD", "$")), "currency $"),
    "share-rate-1.5": ("s.csv", _revenue(SHARES, "s1,M,2024-01-01,2024-01-31,0.2,5,USD",
                                         "s2,M,2024-01-01,2024-01-31,1.5,5,USD"), "not a share from 0 to 1"),
    "share-rate-negative": ("s.csv", _revenue(SHARES, "s1,M,2024-01-01,2024-01-31,0.2,5,USD",
                                              "s2,M,2024-01-01,2024-01-31,-0.5,5,USD"), "not a share from 0 to 1"),
    "share-period-backwards": ("s.csv", _revenue(SHARES, "s1,M,2024-01-01,2024-01-31,0.2,5,USD",
                                                 "s2,M,2024-03-01,2024-01-31,0.2,5,USD"), "is before period_start"),
    "share-line-twice": ("s.csv", _revenue(SHARES, "s1,M,2024-01-01,2024-01-31,0.2,5,USD",
                                           "s1,M,2024-01-01,2024-01-31,0.2,5,USD"), "the whole line repeats line 2"),
}  # fmt: skip

BANK = "date,counterparty,kind,reference,amount,currency"
FUNDING = "date,round,investor,amount,currency"
PARTIAL_CASH = {
    "bank-currency-symbol": ("b.csv", _revenue(BANK, "2024-01-05,Microsoft,cloud_bill,r,-1.00,USD",
                                               "2024-01-06,Microsoft,cloud_bill,r,-1.00,US$"), "currency US$"),
    "bank-currency-number": ("b.csv", _revenue(BANK, "2024-01-05,Microsoft,cloud_bill,r,-1.00,USD",
                                               "2024-01-06,Microsoft,cloud_bill,r,-1.00,978"), "currency 978"),
    "funding-round-twice": ("f.csv", _revenue(FUNDING, "2024-02-01,Seed,VC,1000000,USD",
                                              "2024-02-01,Seed,VC,1000000,USD"), "round Seed repeats line 2"),
}  # fmt: skip


def _utf16(text: bytes, codec: str = "utf-16") -> bytes:
    return text.decode().encode(codec)


def _moved_bill() -> bytes:
    """The corpus bill with line 3 charged at 23:00 on March 31st, New York time: April's in UTC."""
    header, body = _bill()
    body[1][header.index("ChargePeriodStart")] = "2024-03-31T23:00-05:00"
    body[1][header.index("ChargePeriodEnd")] = "2024-04-01T00:00-05:00"
    return _csv(header, body)


def _otlp_mixed() -> bytes:
    """Two spans, the second's input count a JSON number (the first's is proto3's string)."""
    return _otlp({"intValue": 100})


#: (kind, command, file, bytes, outcome, what it says or the rows it loads): files at the
#: edges of the readers (item 10): not UTF-8, an offset crossing a month, a product past 38
#: digits, OTLP counts spelled both ways
EDGES = {
    "revenue-utf16": ("revenue", "ingest-revenue", "p.csv", _utf16(_revenue(PAYMENTS, "p1,2024-01-05,1,USD")),
                      "refused", "encoded as UTF-16"),
    "revenue-utf16-no-mark": ("revenue", "ingest-revenue", "p.csv",
                              _utf16(_revenue(PAYMENTS, "p1,2024-01-05,1,USD"), "utf-16-le"), "refused", "mostly NUL bytes"),
    "revenue-utf32": ("revenue", "ingest-revenue", "i.csv", _utf16(_revenue(INVOICES, _INVOICE), "utf-32"),
                      "refused", "encoded as UTF-32"),
    "cash-utf16": ("cash", "ingest-cash", "b.csv", _utf16(_revenue(BANK, "2024-01-05,M,cloud_bill,r,-1.00,USD")),
                   "refused", "encoded as UTF-16"),
    "usage-utf16": ("usage", "ingest-usage", "u.jsonl", _utf16(b'{"model": "m"}\n'), "refused", "UTF-16"),
    "bills-utf16": ("bills", "ingest", "bill.csv", _utf16(_moved_bill()), "refused", "encoded as UTF-16"),
    "revenue-product-past-38-digits": (
        "revenue", "ingest-revenue", "i.csv",
        _revenue(INVOICES, _INVOICE, "INV-2,acme,api,2024-01-01,2024-01-31,m,100000000000000000,1M tokens,"
                 "9999999999999,10.00,USD"), "ok", 2),
    "revenue-offset-moves-month": ("revenue", "ingest-revenue", "p.csv",
                                   _revenue(PAYMENTS, "p1,2024-03-31T23:00:00-05:00,1,USD"), "ok", 1),
    "usage-otlp-count-number-beside-text": ("usage", "ingest-usage", "spans.json", _otlp_mixed(), "ok", 2),
    "bills-offset-moves-month": ("bills", "ingest", "bill.csv", _moved_bill(), "ok", 4),
}  # fmt: skip


def _edges() -> list[Case]:
    out = []
    for k, (kind, command, name, data, outcome, what) in EDGES.items():
        steps = ((command, "--ledger", LAB, f"{{d}}/{name}"),)
        if outcome == "refused":
            out.append(Case(k, kind, steps, ((name, data),), "refused", (name, what), base="lab"))
        else:
            out.append(Case(k, kind, steps, ((name, data),), "ok", base="lab", extra={"rows": what}))
    return out


def newer() -> list[Case]:
    """Every case of issue 29's input kinds."""
    out = _edges()
    out += [
        Case(f"contracts-{k}", "contracts", (("statement", "--ledger", LAB, "--contracts", "{d}/c.toml"),),
             (("c.toml", text.encode()),), says=(says,), base="lab")
        for k, (text, says) in CONTRACTS.items()
    ]  # fmt: skip
    out += [
        Case(f"scenario-{k}", "scenario", (("scenario", "run", "--ledger", LAB, "{d}/s.toml", *K),),
             (("s.toml", text.encode()),), says=(says,), base="lab")
        for k, (text, says) in SCENARIOS.items()
    ]  # fmt: skip
    out += [
        Case(f"budgets-{k}", "budgets", (("budgets", "--ledger", LAB, "{d}/b.toml"),),
             (("b.toml", text.encode()),), says=(says,), base="lab")
        for k, (text, says) in BUDGETS.items()
    ]  # fmt: skip
    out += [
        Case(f"args-{k}", "args", (argv,), (), says=(says,), base="lab", slow=argv[0] in ("report", "synth"))
        for k, (argv, says) in ARGUMENTS.items()
    ]
    bomb = (
        b"a: &a [x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    )
    with_files = {
        "report-figures-missing": (("report", "--ledger", LAB, "--out", "{d}/r.html", "--figures", "{d}/none.yaml"),
                                   (), "no such file"),
        "report-figures-alias-bomb": (("report", "--ledger", LAB, "--out", "{d}/r.html", "--figures", "{d}/f.yaml"),
                                      (("f.yaml", bomb),), "f.yaml"),
        "report-contracts-not-toml": (("report", "--ledger", LAB, "--out", "{d}/r.html", "--contracts", "{d}/c.toml"),
                                      (("c.toml", b"[[credits]\n"),), "not TOML"),
        "report-images-under-a-file": (("report", "--ledger", LAB, "--out", "{d}/r.html", "--images", "{d}/afile/c"),
                                       (("afile", b"x"),), "is a file, not a folder"),
        "examples-copy-onto-a-file": (("examples", "--copy", "{d}/afile"), (("afile", b"x"),), "is a file, not a folder"),
        "examples-copy-under-a-file": (("examples", "--copy", "{d}/afile/x"), (("afile", b"x"),), "is a file"),
        "examples-copy-onto-a-copy": (("examples", "--copy", "{d}/e"), (("e/synth_company.toml", b"x"),), "exists"),
        "mapping-kind-a-list": (("ingest-revenue", "--ledger", LAB, "--mapping", "{d}/m.toml", "{d}/p.csv"),
                                (("m.toml", b'kind = ["invoices"]\n'), ("p.csv", b"a\n1\n")), "kind ['invoices']"),
        "mapping-values-text": (("ingest-revenue", "--ledger", LAB, "--mapping", "{d}/m.toml", "{d}/p.csv"),
                                (("m.toml", b'kind = "invoices"\nvalues = "x"\n'), ("p.csv", b"a\n1\n")), "[values]"),
    }  # fmt: skip
    out += [
        Case(f"args-{k}", "args", (argv,), files, says=(says,), base="lab")
        for k, (argv, files, says) in with_files.items()
    ]
    pay = (("p.csv", _revenue(PAYMENTS, "p1,2024-01-05,100,USD")),)
    bare = ("ingest-revenue", "--ledger", "{d}/bare.duckdb", "{d}/p.csv")  # a ledger of revenue, no bill
    for k, argv in {"forecast-without-bills": ("forecast", "compute"), "anomalies-without-bills": ("anomalies",),
                    "statement-without-bills": ("statement",),
                    "report-without-bills": ("report", "--out", "{d}/r.html")}.items():  # fmt: skip
        out.append(Case(f"args-{k}", "args", (bare, (argv[0], "--ledger", "{d}/bare.duckdb", *argv[1:])), pay,
                        says=("no ", "ingest"), base="lab"))  # fmt: skip
    eur = {
        "share-statement-eur": ("s.csv", _revenue(SHARES, "s1,M,2024-01-01,2024-01-31,0.2,200000,EUR")),
        "payment-eur": ("p.csv", _revenue(PAYMENTS, "p1,2024-01-05,2000000,EUR")),
        "invoice-eur": ("i.csv", _revenue(INVOICES, _INVOICE.replace("USD", "EUR"))),
    }
    for k, (name, text) in eur.items():  # loaded, then refused wherever money is added up
        margin = () if k == "payment-eur" else (("margin",),)  # margin adds no payment
        for command in (("statement", *K), ("statement", "--basis", "cash", *K), *margin):
            out.append(Case(
                f"revenue-{k}-then-{'-'.join(a for a in command if not a.startswith('{'))}", "revenue",
                (("ingest-revenue", "--ledger", LAB, f"{{d}}/{name}"), (command[0], "--ledger", LAB, *command[1:])),
                ((name, text),), says=("EUR, USD", "no exchange rate is guessed"), base="lab",
            ))  # fmt: skip
    out += [
        Case(f"revenue-{k}", "revenue", (("ingest-revenue", "--ledger", LAB, f"{{d}}/{name}"),),
             ((name, text),), "partial", (says,), line=3, base="lab")
        for k, (name, text, says) in PARTIAL.items()
    ]  # fmt: skip
    out += [
        Case(f"cash-{k}", "cash", (("ingest-cash", "--ledger", LAB, f"{{d}}/{name}"),),
             ((name, text),), "partial", (says,), line=3, base="lab")
        for k, (name, text, says) in PARTIAL_CASH.items()
    ]  # fmt: skip
    return out
