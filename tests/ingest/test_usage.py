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
        (2, "no model"), (4, "token counts do not add up"), (5, "no period (start and end time)"),
        (6, "not a JSON object"),
    ]  # fmt: skip
    assert q[-1]["raw"].endswith('"input_tokens": 1')
    assert refused.status == "refused" and "not readable as otel-spans" in refused.message
