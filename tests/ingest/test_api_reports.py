"""Usage and cost reports as the AI APIs return them (built from the shapes of the OpenAI
Usage and Costs API and the Anthropic Admin API references), and OTLP as collectors write
it. Token counts and amounts are held against an independent sum of the responses' text."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal, localcontext

import pytest

from computeledger.ingest.api_reports import sniff
from computeledger.ingest.usage import format_of
from tests.conftest import decimal_sum, totals

DAY = 86_400
NOV_1 = 1730419200  # 2024-11-01T00:00:00Z


def openai_page(start: int, days: int, results_per_day, kind="completions", more=False) -> dict:
    """An OpenAI organization Usage API page: daily buckets of results."""
    data = []
    for d in range(days):
        results = [{"object": f"organization.usage.{kind}.result", **r} for r in results_per_day(d)]
        data.append({"object": "bucket", "start_time": start + d * DAY, "end_time": start + (d + 1) * DAY,
                     "results": results})  # fmt: skip
    return {"object": "page", "data": data, "has_more": more, "next_page": "page_AAAA" if more else None}


def completions(d: int) -> list[dict]:
    return [
        {"input_tokens": 1000 + d, "output_tokens": 500, "input_cached_tokens": 800, "input_audio_tokens": 7,
         "output_audio_tokens": 3, "num_model_requests": 5, "project_id": "proj_a", "user_id": None,
         "api_key_id": None, "model": "gpt-4o-2024-08-06", "batch": False},
        {"input_tokens": 9007199254740993, "output_tokens": 12, "input_cached_tokens": 0,
         "num_model_requests": 2, "project_id": "proj_b", "model": "gpt-4o-mini-2024-07-18", "batch": True},
    ]  # fmt: skip


def test_openai_usage_pages_load_as_returned_concatenated_or_a_line_each(ledger, tmp_path):
    pages = [openai_page(NOV_1, 3, completions, more=True), openai_page(NOV_1 + 3 * DAY, 2, completions)]
    together = tmp_path / "pretty" / "usage.json"
    together.parent.mkdir()
    together.write_text("\n".join(json.dumps(p, indent=2) for p in pages))  # one page after another
    [r] = ledger.ingest_usage([together])
    # before: refused, "not an OTLP JSON export"
    assert (r.status, r.format, r.rows_loaded, r.rows_quarantined) == ("loaded", "openai-usage-api", 10, 0)
    u = ledger.store.table("usage")
    got = u.aggregate(i=u.input_tokens.sum(), c=u.cached_input_tokens.sum(), o=u.output_tokens.sum(),
                      n=u.requests.sum()).to_pyarrow().to_pylist()[0]  # fmt: skip
    results = [x for p in pages for b in p["data"] for x in b["results"]]
    # exact past 2**53, where a double would round
    assert got["i"] == sum(x["input_tokens"] + x.get("input_audio_tokens", 0) for x in results)
    assert got["c"] == sum(x["input_cached_tokens"] for x in results)
    assert got["o"] == sum(x["output_tokens"] + x.get("output_audio_tokens", 0) for x in results)
    assert got["n"] == sum(x["num_model_requests"] for x in results)
    batch = u.filter(u.model == "gpt-4o-mini-2024-07-18").operation.to_pyarrow().to_pylist()
    assert set(batch) == {"chat-batch"}
    lines = tmp_path / "lines" / "usage.jsonl"
    lines.parent.mkdir()
    lines.write_text("\n".join(json.dumps(p) for p in pages) + "\n")
    assert format_of(lines) == ("openai-usage-api", None)


def test_a_result_without_a_model_is_the_unknown_model_never_dropped(ledger, tmp_path):
    path = tmp_path / "usage.json"
    page = openai_page(NOV_1, 2, lambda d: [{"input_tokens": 10, "output_tokens": 4, "num_model_requests": 1,
                                              "model": None, "project_id": None}])  # fmt: skip
    path.write_text(json.dumps(page))
    [r] = ledger.ingest_usage([path])
    assert (r.rows_loaded, r.rows_quarantined) == (2, 0)
    assert "group_by=model" in r.message
    u = ledger.store.table("usage")
    assert u.model.to_pyarrow().to_pylist() == ["unknown", "unknown"]


def test_embeddings_images_and_moderations_pages(ledger, tmp_path):
    files = []
    for kind, result in [
        ("embeddings", {"input_tokens": 16, "num_model_requests": 2, "model": "text-embedding-3-small"}),
        ("moderations", {"input_tokens": 9, "num_model_requests": 1, "model": "omni-moderation-latest"}),
        ("images", {"images": 4, "num_model_requests": 4, "model": "gpt-image-1", "size": "1024x1024"}),
    ]:
        files.append(tmp_path / f"{kind}.json")
        files[-1].write_text(json.dumps(openai_page(NOV_1, 1, lambda d, r=result: [r], kind=kind)))
    results = ledger.ingest_usage(files)
    assert [(r.status, r.rows_loaded) for r in results] == [("loaded", 1)] * 3
    rows = {r["operation"]: r for r in ledger.store.table("usage").to_pyarrow().to_pylist()}
    assert (rows["embeddings"]["input_tokens"], rows["embeddings"]["output_tokens"]) == (16, None)
    assert rows["moderations"]["input_tokens"] == 9
    # images are counted in images, not tokens: the tokens are unknown, never 0
    assert (rows["images"]["input_tokens"], rows["images"]["requests"]) == (None, 4)


def anthropic_usage_report() -> dict:
    def result(model, uncached, w1h, w5m, read, out, tier="standard"):
        return {"uncached_input_tokens": uncached,
                "cache_creation": {"ephemeral_1h_input_tokens": w1h, "ephemeral_5m_input_tokens": w5m},
                "cache_read_input_tokens": read, "output_tokens": out,
                "server_tool_use": {"web_search_requests": 1},
                "api_key_id": "apikey_01", "workspace_id": "wrkspc_01", "model": model, "service_tier": tier,
                "context_window": "0-200k"}  # fmt: skip

    return {"data": [
        {"starting_at": "2025-08-01T00:00:00Z", "ending_at": "2025-08-02T00:00:00Z", "results": [
            result("claude-sonnet-4-20250514", 1500, 1000, 500, 200, 500),
            result("claude-opus-4-1-20250805", 90, 0, 10, 7000, 321, tier="batch")]},
        {"starting_at": "2025-08-02T00:00:00Z", "ending_at": "2025-08-03T00:00:00Z", "results": [
            result("claude-sonnet-4-20250514", 2500, 0, 0, 300, 800)]},
    ], "has_more": False, "next_page": None}  # fmt: skip


def test_anthropic_usage_report_counts_every_input_token(ledger, tmp_path):
    path = tmp_path / "usage_report.json"
    path.write_text(json.dumps(anthropic_usage_report(), indent=1))
    [r] = ledger.ingest_usage([path])
    assert (r.status, r.format, r.rows_loaded) == ("loaded", "anthropic-usage", 3)
    rows = ledger.store.table("usage").order_by(["period_start", "model"]).to_pyarrow().to_pylist()
    first = next(x for x in rows if x["model"] == "claude-sonnet-4-20250514")
    # input is all input: uncached + cache writes (both TTLs) + cache reads; the parts kept apart
    parts = (first["input_tokens"], first["cached_input_tokens"], first["cache_write_tokens"])
    assert parts == (3200, 200, 1500)
    assert (first["output_tokens"], first["requests"], first["customer"]) == (500, None, "wrkspc_01")
    assert first["provider"] == "Anthropic"
    opus = next(x for x in rows if x["model"].startswith("claude-opus"))
    assert (opus["input_tokens"], opus["operation"]) == (7100, "messages-batch")


def openai_costs_text() -> str:
    """The Costs API page as the API writes it: amounts as JSON numbers, one with more
    digits than a double holds and one in E notation."""
    text = json.dumps(openai_costs())
    return text.replace('"@LONG@"', "1.2345678901234567890123").replace('"@EXP@"', "12.5e-3")


def openai_costs() -> dict:
    return {"object": "page", "data": [
        {"object": "bucket", "start_time": NOV_1, "end_time": NOV_1 + DAY, "results": [
            {"object": "organization.costs.result", "amount": {"value": 0.06, "currency": "usd"},
             "line_item": "gpt-4o-2024-08-06, input", "project_id": "proj_a"},
            {"object": "organization.costs.result",
             "amount": {"value": "@LONG@", "currency": "usd"},
             "line_item": "gpt-4o-2024-08-06, output", "project_id": "proj_a"}]},
        {"object": "bucket", "start_time": NOV_1 + DAY, "end_time": NOV_1 + 2 * DAY, "results": [
            {"object": "organization.costs.result", "amount": {"value": "@EXP@", "currency": "usd"},
             "line_item": "gpt-4o-2024-08-06, cached input", "project_id": "proj_a"}]},
    ], "has_more": False, "next_page": None}  # fmt: skip


_SONNET = {"currency": "USD", "workspace_id": "wrkspc_01", "cost_type": "tokens", "context_window": "0-200k",
           "model": "claude-sonnet-4-20250514", "service_tier": "standard"}  # fmt: skip
ANTHROPIC_COSTS = {"data": [
    {"starting_at": "2025-08-01T00:00:00Z", "ending_at": "2025-08-02T00:00:00Z", "results": [
        _SONNET | {"amount": "123.78912", "description": "Claude Sonnet 4 Usage - Input Tokens",
                   "token_type": "uncached_input_tokens"},
        _SONNET | {"amount": "750", "description": "Claude Sonnet 4 Usage - Output Tokens",
                   "token_type": "output_tokens"}]},
], "has_more": False, "next_page": None}  # fmt: skip


def test_cost_reports_load_as_bills_with_exact_amounts(ledger, tmp_path):
    folder = tmp_path / "costs"
    folder.mkdir()
    (folder / "openai_costs.json").write_text(openai_costs_text())
    (folder / "anthropic_cost_report.json").write_text(json.dumps(ANTHROPIC_COSTS))
    (folder / "manifest.json").write_text("{}")  # not a report: not picked up from the folder
    results = ledger.ingest([folder])
    assert [(r.format, r.status, r.rows_loaded, r.rows_quarantined) for r in results] == [
        ("anthropic-costs", "loaded", 2, 0), ("openai-costs", "loaded", 3, 0)]  # fmt: skip
    t = totals(ledger)
    # OpenAI writes the amount as a JSON number: read from its text, not through a double
    openai_text = ["0.06", "1.2345678901234567890123", "12.5e-3"]
    residue = Decimal(results[1].rounding["BilledCost"]["residue"])
    with localcontext(prec=80):
        assert t["OpenAI"]["BilledCost"] + residue == decimal_sum(openai_text)
    # Anthropic's amount is in cents, as a decimal string
    assert t["Anthropic"]["BilledCost"] == Decimal("1.2378912") + Decimal("7.5")
    assert (t["OpenAI"]["ListCost"], t["Anthropic"]["ContractedCost"]) == (None, None)  # not in the reports
    rows = ledger.charges.filter(ledger.charges.ServiceProviderName == "OpenAI").order_by("x_source_line")
    first = rows.to_pyarrow().to_pylist()[0]
    assert (first["ChargePeriodStart"].isoformat(), first["BillingPeriodStart"].isoformat()) == (
        "2024-11-01T00:00:00", "2024-11-01T00:00:00")  # fmt: skip
    details = {"ModelId": "gpt-4o-2024-08-06", "TokenCacheAction": "Uncached", "TokenDirection": "Input"}
    assert json.loads(first["SkuPriceDetails"]) == details


def test_bought_tokens_get_their_cost_per_million_beside_the_telemetry(ledger, tmp_path):
    costs = tmp_path / "cost_report.json"
    costs.write_text(json.dumps(ANTHROPIC_COSTS))
    usage = tmp_path / "usage_report.json"
    usage.write_text(json.dumps(anthropic_usage_report()))
    ledger.ingest([costs])
    ledger.ingest_usage([usage])
    ledger.allocate("token-bills")
    rows = ledger.unit_costs("model,month").rows
    [row] = [r for r in rows if r["model"] == "claude-sonnet-4-20250514"]
    tokens = (3200 + 500) + (2800 + 800)  # all input and output of both August days
    assert (row["input_tokens"] + row["output_tokens"]) == tokens
    assert row["inference_cost"] == Decimal("8.7378912")
    with localcontext(prec=60):
        want = Decimal("8.7378912") * 1_000_000 / tokens
    assert abs(row["cost_per_million_tokens"] - want) < Decimal("1e-12")


def test_a_cost_report_given_to_ingest_usage_says_where_it_belongs(ledger, tmp_path):
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(openai_costs()))
    [r] = ledger.ingest_usage([path])
    assert r.status == "refused" and "computeledger ingest" in r.message


def test_a_damaged_report_is_one_reason(ledger, tmp_path):
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(openai_page(NOV_1, 1, completions))[:-40])
    [r] = ledger.ingest_usage([path])
    assert r.status == "refused" and "not JSON at line 1" in r.message
    assert ledger.store.table("usage").count().to_pyarrow().as_py() == 0


def span(model, inp, out, start, end, *, as_text=False, provider_key="gen_ai.provider.name", extra=()):
    def count(v):
        return {"intValue": str(v) if as_text else v}

    attributes = [
        {"key": "gen_ai.request.model", "value": {"stringValue": model}},
        {"key": provider_key, "value": {"stringValue": "openai"}},
        {"key": "gen_ai.usage.input_tokens", "value": count(inp)},
        {"key": "gen_ai.usage.output_tokens", "value": count(out)},
        *extra,
    ]
    return {"traceId": "a" * 32, "spanId": "b" * 16, "name": "chat", "startTimeUnixNano": start,
            "endTimeUnixNano": end, "attributes": attributes}  # fmt: skip


T0, T1 = "1730419200000000000", "1730419201000000000"


def otlp_export() -> dict:
    """Two resources, three scopes; counts as strings (proto3's JSON for int64) and numbers,
    times as strings and numbers, the older gen_ai.system beside gen_ai.provider.name."""
    return {"resourceSpans": [
        {"resource": {"attributes": []}, "scopeSpans": [
            {"scope": {"name": "a"}, "spans": [span("m1", 10, 5, T0, T1, as_text=True)]},
            {"scope": {"name": "b"}, "spans": [span("m2", 20, 6, int(T0), int(T1))]}]},
        {"resource": {"attributes": []}, "scopeSpans": [
            {"scope": {"name": "c"},
             "spans": [span("m3", 30, 7, T0, int(T1), provider_key="gen_ai.system")]}]},
    ]}  # fmt: skip


@pytest.mark.parametrize("shape", ["json", "json.gz", "jsonl"])
def test_otlp_as_collectors_write_it(ledger, tmp_path, shape):
    doc = otlp_export()
    if shape == "json":
        path = tmp_path / "spans.json"
        path.write_text(json.dumps(doc))
    elif shape == "json.gz":
        path = tmp_path / "spans.json.gz"
        with gzip.open(path, "wt") as f:
            json.dump(doc, f)
    else:  # the collector's file exporter: one export a line
        path = tmp_path / "spans.jsonl"
        path.write_text("\n".join(json.dumps({"resourceSpans": [rs]}) for rs in doc["resourceSpans"]) + "\n")
    [r] = ledger.ingest_usage([path])
    # before: a string intValue beside a number one quarantined the span with a wrong reason
    got = (r.status, r.format, r.rows_loaded, r.rows_quarantined)
    assert got == ("loaded", "otel-spans", 3, 0), r.reasons
    rows = ledger.store.table("usage").order_by("model").to_pyarrow().to_pylist()
    assert [(x["model"], x["input_tokens"], x["output_tokens"]) for x in rows] == [
        ("m1", 10, 5), ("m2", 20, 6), ("m3", 30, 7)]  # fmt: skip
    # a span without a request count is one request (before: NULL, the format compared as "otel")
    assert [x["requests"] for x in rows] == [1, 1, 1]
    assert {x["provider"] for x in rows} == {"openai"}
    assert {x["period_start"].isoformat() for x in rows} == {"2024-11-01T00:00:00"}


def test_formats_are_told_by_content(tmp_path):
    cases = {
        "otel.json": otlp_export(),
        "page.json": openai_page(NOV_1, 1, completions),
        "costs.json": openai_costs(),
        "report.json": anthropic_usage_report(),
        "cost_report.json": ANTHROPIC_COSTS,
    }
    got = {}
    for name, doc in cases.items():
        (tmp_path / name).write_text(json.dumps(doc))
        got[name] = sniff(tmp_path / name)
    assert got == {"otel.json": "otel-spans", "page.json": "openai-usage-api", "costs.json": "openai-costs",
                   "report.json": "anthropic-usage", "cost_report.json": "anthropic-costs"}  # fmt: skip
