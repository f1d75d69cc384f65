"""Fuzz of the CSV and JSONL readers (issue 14): whatever text a cost or a token count
holds, what loads equals an independent parse of the same text by the grammar of
docs/design.md (Python's `re` and `Decimal`), and what does not is quarantined on its own
line with a reason naming the column. Nothing is rounded, nothing is read as 0."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from computeledger import open_ledger
from computeledger.shipped import FOCUS_SAMPLE

pytestmark = pytest.mark.slow  # hundreds of ledgers, one per Hypothesis example

NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)  # \d: 0-9 only
WHOLE = re.compile(r"[+-]?\d{1,18}", re.ASCII)


def reference_decimal(text: str) -> Decimal | None:
    """The ledger's number grammar: a plain decimal or E notation (an exponent within
    ±400) whose value has at most 20 digits before the point and no non-zero digit beyond
    the 38th after it, however it is written; past the 18th it is rounded half-even."""
    t = text.strip(" ")
    match = NUMBER.fullmatch(t)
    if not match or (match.group(2) and abs(int(match.group(2)[1:])) > 400):
        return None
    with localcontext(prec=10_000):
        d = Decimal(t)
        if abs(d) >= Decimal(10) ** 20:
            return None
        if d != 0 and d.normalize().as_tuple().exponent < -38:
            return None
        d = d.quantize(Decimal("1e-18"), rounding=ROUND_HALF_EVEN)
        return None if abs(d) >= Decimal(10) ** 20 else d


def reference_count(value) -> int | None:
    """A token count: a JSON whole number (or its text) of at most 18 digits, or of at most
    15 written with a fraction of zeros (a double that holds it exactly), not negative."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip(" ") if isinstance(value, str) else json.dumps(value)
    if re.fullmatch(r"[+-]?\d{1,15}\.0*", text):
        text = text.split(".")[0]
    elif isinstance(value, float) or not WHOLE.fullmatch(text):
        return None
    n = int(text)
    return n if n >= 0 else None


digits = st.text("0123456789", min_size=1, max_size=24)
exponent = st.integers(-40, 40).map(lambda e: f"e{e:+d}" if e % 3 else f"E{e}")
decimal_text = st.one_of(
    st.builds(lambda s, a, b: f"{s}{a}.{b}", st.sampled_from(["", "-", "+"]), digits, digits),
    st.builds(lambda s, a, e: f"{s}{a}{e}", st.sampled_from(["", "-"]), digits, exponent),
    st.builds(lambda a, b, e: f"{a}.{b}{e}", digits, digits, exponent),
    st.builds(lambda a: f" {a} ", digits),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.text("0123456789.eE+-_ ,x$", max_size=12),
    st.builds(lambda z, d, e: f"0.{'0' * z}{d}e{e}", st.integers(30, 45), digits, st.integers(15, 50)),
    st.builds(lambda a, e: f"{a}.0e-{e}", st.text("0123456789", min_size=19, max_size=26), st.integers(0, 9)),
    st.sampled_from(["1e99999999999999999999", "1e-99999999999999999999", "0e-400", "1_0", "\u0661", "NaN"]),
)


def _bill(values: list[str]) -> bytes:
    with FOCUS_SAMPLE.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    header, template = rows[0], rows[1]
    cost, account = header.index("BilledCost"), header.index("BillingAccountId")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for v in values:
        row = list(template)
        row[cost], row[account] = v, "fuzz"
        w.writerow(row)
    return out.getvalue().encode()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(decimal_text, min_size=1, max_size=25))
def test_csv_costs_load_as_their_exact_decimal_or_are_quarantined(tmp_path_factory, values):
    tmp = tmp_path_factory.mktemp("csvfuzz")
    (tmp / "bill.csv").write_bytes(_bill(values))
    with open_ledger(tmp / "l.duckdb") as lg:
        [r] = lg.ingest([tmp / "bill.csv"])
        loaded = dict(lg.charges.select("x_source_line", "BilledCost").execute().itertuples(index=False))
        held = dict(lg.quarantine.select("source_line", "reason").execute().itertuples(index=False))
    assert r.rows_read == len(values) == r.rows_loaded + r.rows_quarantined, r.message
    for i, text in enumerate(values):
        line, expected = i + 2, reference_decimal(text)
        if expected is None:
            assert line in held and "BilledCost" in held[line], (text, loaded.get(line))
        else:
            assert loaded.get(line) == expected, (text, held.get(line))


count = st.one_of(
    st.integers(-(10**20), 10**20),
    st.integers(0, 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text("0123456789.e+- ", max_size=8),
    st.builds(str, st.integers(-5, 10**19)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(counts=st.lists(count, min_size=1, max_size=25))
def test_jsonl_token_counts_load_as_their_whole_number_or_are_quarantined(tmp_path_factory, counts):
    tmp = tmp_path_factory.mktemp("jsonlfuzz")
    lines = [
        json.dumps({"object": "organization.usage.completions.result", "start_time": 1704067200 + 86400 * i,
                    "end_time": 1704153600 + 86400 * i, "project_id": "fuzz", "model": "m",
                    "num_model_requests": 1, "input_tokens": c, "output_tokens": 1})
        for i, c in enumerate(counts)
    ]  # fmt: skip
    (tmp / "u.jsonl").write_text("\n".join(lines) + "\n")
    with open_ledger(tmp / "l.duckdb") as lg:
        [r] = lg.ingest_usage([tmp / "u.jsonl"])
        usage = lg.usage.select("period_start", "input_tokens").execute()
        held = dict(lg.quarantine.select("source_line", "reason").execute().itertuples(index=False))
    assert r.rows_loaded + r.rows_quarantined == len(counts), r.message
    by_day = {ts.date().toordinal(): n for ts, n in usage.itertuples(index=False)}
    start = 738886  # 2024-01-01
    for i, c in enumerate(counts):
        expected = reference_count(c)
        if expected is None:
            assert i + 1 in held and "input_tokens" in held[i + 1], (c, held.get(i + 1))
        else:
            assert by_day.get(start + i) == expected, (c, held.get(i + 1))
