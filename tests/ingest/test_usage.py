"""Token usage: both telemetry formats load to the lab's token truth; bad records are quarantined."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from computeledger import open_ledger
from tests.conftest import truth

KINDS = ("requests", "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens")


@pytest.mark.parametrize("fmt", ["openai", "otel"])
def test_usage_logs_load_to_the_token_truth(company, tmp_path, fmt):
    out, _ = company
    expected: dict = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    for r in truth(out, "tokens"):
        for k in KINDS:
            expected[(r["month"], r["model"], r["channel"])][k] += int(r[k])
    with open_ledger(tmp_path / "l.duckdb") as lg:
        results = lg.ingest_usage([out / "usage" / fmt])
        assert [r.status for r in results] == ["loaded"] * 4
        assert sum(r.rows_quarantined for r in results) == 0
        again = lg.ingest_usage([out / "usage" / fmt])
        assert [r.status for r in again] == ["duplicate"] * 4
        u = lg.usage
        got = (
            u.group_by(month=u.period_start.truncate("M").date(), model=u.model, channel=u.channel)
            .aggregate(**{k: u[k].sum() for k in KINDS})
            .to_pyarrow()
            .to_pylist()
        )
    assert {
        (r["month"].strftime("%Y-%m"), r["model"], r["channel"]): {k: r[k] for k in KINDS} for r in got
    } == {k: dict(v) for k, v in expected.items()}


def test_bad_usage_records_are_quarantined_with_a_reason(tmp_path):
    good = {
        "object": "organization.usage.completions.result", "start_time": 1714521600,
        "end_time": 1714608000, "project_id": "p", "model": "m", "num_model_requests": 2,
        "input_tokens": 10, "output_tokens": 5,
    }  # fmt: skip
    lines = [
        good,
        {**good, "model": None},
        {**good, "input_cached_tokens": 11},
        {**good, "start_time": "soon"},
    ]
    path = tmp_path / "usage.jsonl"
    text = [json.dumps(x) for x in lines]
    text.insert(2, "")  # a blank line: not a record
    text.append('{"object": "organization.usage.completions.result", "input_tokens": 1')  # cut short
    path.write_text("\n".join(text) + "\n")
    broken = tmp_path / "broken.json"
    broken.write_text('{"resourceSpans": [')
    with open_ledger(tmp_path / "l.duckdb") as lg:
        [result] = lg.ingest_usage([path])
        [refused] = lg.ingest_usage([broken])
        q = lg.quarantine.order_by("source_line").to_pyarrow().to_pylist()
        assert lg.usage.count().execute() == 1
    assert (result.rows_loaded, result.rows_quarantined) == (1, 4)
    assert [(r["source_line"], r["reason"]) for r in q] == [
        (2, "no model"), (4, "token counts do not add up"),
        (5, "no period: start or end time missing or out of range"), (6, "not a JSON object"),
    ]  # fmt: skip
    assert q[-1]["raw"].endswith('"input_tokens": 1')
    assert refused.status == "refused" and "not readable as otel-spans" in refused.message


def test_a_usage_csv_loads_and_quarantines_what_it_cannot_read(tmp_path):
    f = tmp_path / "gateway.csv"
    f.write_text(
        "date,model,project_id,channel,num_model_requests,prompt_tokens,completion_tokens\n"
        "2025-03-01,gpt-x,acme,api,10,1000,200\n"
        "2025-03-02,gpt-x,acme,api,5,abc,10\n"
        "2025-03-02,,acme,api,5,100,10\n"
        "2025-03-03,gpt-x,zeta,app,-1,100,10\n"
    )
    with open_ledger(tmp_path / "l.duckdb") as lg:
        [r] = lg.ingest_usage([f])
        assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 1, 3)
        [row] = lg.usage.to_pyarrow().to_pylist()
        q = lg.quarantine.order_by("source_line").to_pyarrow().to_pylist()
    assert (row["model"], row["customer"], row["input_tokens"], row["output_tokens"]) == (
        "gpt-x",
        "acme",
        1000,
        200,
    )
    assert (row["period_end"] - row["period_start"]).days == 1  # a day's record covers the day
    assert [(x["source_line"], x["reason"]) for x in q] == [
        (3, "input_tokens: not a whole number: 'abc'"),
        (4, "model: missing"),
        (5, "requests: a negative count"),
    ]


def test_span_attributes_for_customer_and_channel_are_the_users_to_name(tmp_path):
    def attr(key, value):
        kind = "intValue" if isinstance(value, int) else "stringValue"
        return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}

    span = {
        "name": "chat gpt-x", "startTimeUnixNano": "1740787200000000000",
        "endTimeUnixNano": "1740787201000000000",
        "attributes": [attr("gen_ai.request.model", "gpt-x"), attr("gen_ai.usage.input_tokens", 120),
                       attr("gen_ai.usage.output_tokens", 30), attr("tenant.id", "acme"),
                       attr("app.surface", "api"), attr("batch.size", 3)],
    }  # fmt: skip
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    f = tmp_path / "spans.json"
    f.write_text(json.dumps(doc))
    with open_ledger(tmp_path / "l.duckdb") as lg:
        [r] = lg.ingest_usage([f], attributes={"customer": "tenant.id", "channel": "app.surface",
                                               "requests": "batch.size"})  # fmt: skip
        assert r.status == "loaded", r.message
        [row] = lg.usage.to_pyarrow().to_pylist()
    assert (row["customer"], row["channel"], row["requests"], row["input_tokens"]) == ("acme", "api", 3, 120)


def test_two_sources_of_the_same_usage_are_not_summed(company, tmp_path):
    """The lab writes its tokens twice (OpenAI JSONL and OTLP spans): loading both sets the
    second aside record by record, named, and the tokens stay the truth's."""
    out, _ = company
    expected = sum(int(r["input_tokens"]) + int(r["output_tokens"]) for r in truth(out, "tokens"))
    with open_ledger(tmp_path / "l.duckdb") as lg:
        results = lg.ingest_usage([out / "usage"])
        u = lg.usage
        got = u.aggregate(t=(u.input_tokens + u.output_tokens).sum()).to_pyarrow().to_pylist()[0]["t"]
    first, second = results[:4], results[4:]
    assert [r.format for r in first] == ["openai-usage"] * 4
    assert [r.format for r in second] == ["otel-spans"] * 4
    assert all(r.rows_quarantined == 0 for r in first)
    assert all(r.rows_loaded == 0 and r.rows_quarantined > 0 for r in second)
    assert (
        second[0]
        .reasons[0]
        .endswith(
            "records: the same model, customer, channel and period as ingest 1 (another source of this "
            "usage): set aside, the earlier stands"
        )
    )
    assert got == expected


def test_a_count_present_but_unusable_is_quarantined_never_zero(tmp_path):
    """'abc', 1e30, 2.5, negative cached/reasoning/request counts (JSONL), and an OTLP
    intValue of 'abc' or a doubleValue: each a reason, none read as 0 or rounded."""
    import json

    base = {"object": "organization.usage.completions.result", "start_time": 1704067200,
            "end_time": 1704153600, "project_id": "acme", "model": "m", "num_model_requests": 1,
            "input_tokens": 100, "output_tokens": 10}  # fmt: skip
    lines = [base, base | {"output_tokens": "abc"}, base | {"output_tokens": 1e30},
             base | {"output_tokens": 2.5}, base | {"input_cached_tokens": -1},
             base | {"output_reasoning_tokens": -2}, base | {"num_model_requests": -3}]  # fmt: skip
    jsonl = tmp_path / "u.jsonl"
    jsonl.write_text("\n".join(json.dumps(x | {"project_id": f"c{i}"}) for i, x in enumerate(lines)) + "\n")

    def span(i: int, output: dict) -> dict:
        return {"traceId": f"{i:032x}", "spanId": f"{i:016x}", "name": "chat m", "kind": 2,
                "startTimeUnixNano": "1704067200000000000", "endTimeUnixNano": "1704153600000000000",
                "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "m"}},
                               {"key": "lab.customer", "value": {"stringValue": f"s{i}"}},
                               {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "100"}},
                               {"key": "gen_ai.usage.output_tokens", "value": output}]}  # fmt: skip

    spans = [span(0, {"intValue": "10"}), span(1, {"intValue": "abc"}), span(2, {"doubleValue": 123.0})]
    otlp = tmp_path / "spans.json"
    otlp.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    with open_ledger(tmp_path / "l.duckdb") as lg:
        a, b = lg.ingest_usage([jsonl, otlp])
        q = lg.quarantine.order_by(["ingest_id", "source_line"]).to_pyarrow().to_pylist()
        loaded = lg.usage.order_by("customer").to_pyarrow().to_pylist()
    assert (a.rows_loaded, a.rows_quarantined, b.rows_loaded, b.rows_quarantined) == (1, 6, 1, 2)
    assert [r["output_tokens"] for r in loaded] == [10, 10]
    reasons = [r["reason"] for r in q]
    assert reasons[:3] == [
        "output_tokens: not a whole number: 'abc'",
        "output_tokens: not a whole number: '1e30'",
        "output_tokens: not a whole number: '2.5'",
    ]
    assert reasons[3:6] == [
        "cached_input_tokens: a negative count",
        "reasoning_tokens: a negative count",
        "requests: a negative count",
    ]
    assert reasons[6] == "output_tokens: not a whole number: 'abc'"
    assert (
        reasons[7].startswith("output_tokens: not a whole number: '{") and '"doubleValue":123.0' in reasons[7]
    )


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda line: line.replace(b"acme", b"ac\xffme"), "line cannot be read: Invalid unicode"),
        (lambda line: line.replace(b"acme", b"ac\x01me"), "line cannot be read"),
        (lambda line: line.replace(b"acme", b"a" * (5 * 2**20)), "line cannot be read: Maximum line size"),
        (lambda line: line.replace(b"1704067200", b"100000000000000000"), "no period"),
    ],
)
def test_one_damaged_jsonl_line_is_quarantined_alone(tmp_path, damage, reason):
    import json

    base = {"object": "organization.usage.completions.result", "start_time": 1704067200,
            "end_time": 1704153600, "project_id": "acme", "model": "m", "num_model_requests": 1,
            "input_tokens": 100, "output_tokens": 10}  # fmt: skip
    good = json.dumps(base).encode()
    path = tmp_path / "u.jsonl"
    path.write_bytes(
        b"\n".join([good.replace(b"acme", b"c1"), damage(good), good.replace(b"acme", b"c3")]) + b"\n"
    )
    with open_ledger(tmp_path / "l.duckdb") as lg:
        [r] = lg.ingest_usage([path])
        q = lg.quarantine.to_pyarrow().to_pylist()
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 2, 1)
    assert [x["source_line"] for x in q] == [2] and q[0]["reason"].startswith(reason)
