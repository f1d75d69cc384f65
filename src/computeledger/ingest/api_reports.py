"""Usage and cost reports as the AI APIs return them, read from the saved responses.

- OpenAI's organization Usage API (`/v1/organization/usage/{completions, embeddings,
  moderations, images, audio_speeches, audio_transcriptions}`): a page object whose `data`
  holds buckets (`start_time`, `end_time`, epoch seconds) of `results`.
- OpenAI's Costs API (`/v1/organization/costs`): the same pages, results of
  `organization.costs.result` with `amount: {value, currency}` and `line_item`.
- Anthropic's Admin API usage report (`/v1/organizations/usage_report/messages`): `data`
  buckets (`starting_at`, `ending_at`, RFC 3339) of results with `uncached_input_tokens`,
  `cache_creation` by TTL, `cache_read_input_tokens`, `output_tokens`, `model`, ...
- Anthropic's cost report (`/v1/organizations/cost_report`): results with `amount` as a
  decimal string in the currency's lowest unit (cents), `currency`, `model`, `token_type`.

A file holds one response, several concatenated (pages one after another), or one per line.
Numbers are kept as the text the response wrote, so counts and amounts stay exact (a JSON
reader's doubles would round them). Usage becomes `usage` records (`ingest-usage`); costs
become FOCUS charges (`ingest`), through the same rules as any bill.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path

import pyarrow as pa

MAX_BYTES = 256 * 2**20  # an API page is far smaller; a larger file is no saved response
SNIFF_BYTES = 1 << 16
USAGE_FORMATS = ("openai-usage-api", "anthropic-usage")
COST_FORMATS = ("openai-costs", "anthropic-costs")
NO_MODEL = "unknown"
NO_MODEL_HINT = "group the API call by model (OpenAI: group_by=model; Anthropic: group_by[]=model)"


class NotAReport(ValueError):
    """The file is not a usage or cost report this module reads (the message says why)."""


@dataclass(frozen=True)
class Number:
    """A JSON number as the response wrote it."""

    text: str


def _opened(path: Path) -> str:
    raw = path.read_bytes() if not path.name.lower().endswith(".gz") else None
    if raw is None:
        try:
            with gzip.open(path, "rb") as f:
                raw = f.read(MAX_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise NotAReport(f"a damaged gzip file: {exc}") from None
    if len(raw) > MAX_BYTES:
        raise NotAReport(f"over {MAX_BYTES >> 20} MB: not a saved API response (split it by page)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotAReport(f"not UTF-8 text (byte {exc.start})") from None


def documents(path: Path) -> list[object]:
    """The JSON documents of a file: one, several one after another, or one a line; numbers
    as `Number`, never floats."""
    text = _opened(path)
    decoder = json.JSONDecoder(parse_float=Number, parse_int=Number, parse_constant=_no_constant)
    out: list[object] = []
    at, n = 0, len(text)
    while True:
        while at < n and text[at] in " \t\r\n":
            at += 1
        if at >= n:
            return out
        try:
            doc, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            raise NotAReport(f"not JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        out.append(doc)


def _no_constant(name: str) -> object:
    raise NotAReport(f"{name} is not a number a report can hold")


def sniff(path: Path) -> str | None:
    """The kind of a JSON file, from its first bytes: 'otel-spans', one of USAGE_FORMATS or
    COST_FORMATS, 'openai-usage' (one usage record a line), or None when nothing tells."""
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as f:
                head = f.read(SNIFF_BYTES)
        else:
            with path.open("rb") as f:
                head = f.read(SNIFF_BYTES)
    except (OSError, EOFError):
        return None
    text = head.decode("utf-8", "replace")

    def key(name: str) -> bool:
        return re.search(rf'"{re.escape(name)}"\s*:', text) is not None

    if key("resourceSpans"):
        return "otel-spans"
    if "organization.costs.result" in text and key("results"):
        return "openai-costs"
    if key("results") and key("start_time"):  # a page of buckets (records a line carry no results)
        return "openai-usage-api"
    if key("starting_at"):
        if key("uncached_input_tokens") or key("cache_read_input_tokens") or key("output_tokens"):
            return "anthropic-usage"
        if key("amount") or key("cost_type") or key("token_type"):
            return "anthropic-costs"
        return "anthropic-usage"
    if key("num_model_requests") or key("input_tokens"):
        return "openai-usage"
    return None


def _buckets(docs: list[object], start_key: str, end_key: str) -> Iterator[tuple[object, object, list]]:
    """(start, end, results) of every bucket of every page."""
    for i, doc in enumerate(docs, 1):
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
            raise NotAReport(f"document {i} is not a report page (no 'data' list of buckets)")
        for bucket in doc["data"]:
            if not isinstance(bucket, dict):
                raise NotAReport(f"document {i}: a bucket that is not an object")
            results = bucket.get("results")
            yield bucket.get(start_key), bucket.get(end_key), results if isinstance(results, list) else []


def _text(value: object) -> str | None:
    """A JSON value as text: a number as written, a string as is, null as None, else JSON."""
    if value is None:
        return None
    if isinstance(value, Number):
        return value.text
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, default=lambda n: n.text)


def _json(value: object) -> str:
    return json.dumps(value, default=lambda n: n.text, sort_keys=True)


def _epoch(value: object) -> datetime | None:
    text = _text(value)
    if text is None or not text.isdigit() or int(text) > 253402300799:
        return None
    return datetime.fromtimestamp(int(text), UTC).replace(tzinfo=None)


def _iso(value: object) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _sum(*values: object) -> str | None:
    """Whole-number counts added exactly; a count present but not whole stays as its text
    (the usage checks then quarantine it with its reason); None when all are absent."""
    present = [_text(v) for v in values if v is not None]
    if not present:
        return None
    if all(p.lstrip("-").isdigit() for p in present):
        return str(sum(int(p) for p in present))
    return next(p for p in present if not p.lstrip("-").isdigit())


_OPERATION = {
    "completions": "chat", "embeddings": "embeddings", "moderations": "moderations", "images": "images",
    "audio_speeches": "audio_speeches", "audio_transcriptions": "audio_transcriptions",
}  # fmt: skip
#: Operations whose results count no tokens (images, characters, seconds): tokens unknown.
NO_TOKENS = ("images", "audio_speeches", "audio_transcriptions")


def usage_records(path: Path, fmt: str) -> pa.Table:
    """The usage results of an OpenAI or Anthropic usage report as the records the usage
    checks read (`ingest.usage`): a record per result, its bucket's period, input tokens as
    all input (uncached, cache writes and cache reads), the cached parts apart. A result
    without a model is the `unknown` model, never dropped."""
    docs = documents(path)
    rows = []
    openai = fmt == "openai-usage-api"
    keys = ("start_time", "end_time") if openai else ("starting_at", "ending_at")
    moment = _epoch if openai else _iso
    n = 0
    for start, end, results in _buckets(docs, *keys):
        for r in results:
            n += 1
            if not isinstance(r, dict):
                rows.append(_bad(n, r, "a result that is not an object"))
                continue
            rows.append(_openai_usage(n, r, start, end) if openai else _anthropic_usage(n, r, start, end))
            rows[-1]["period_start"], rows[-1]["period_end"] = moment(start), moment(end)
    return pa.Table.from_pylist(rows, schema=RECORDS)


RECORDS = pa.schema([
    ("line", pa.int64()), ("raw", pa.string()), ("is_json", pa.bool_()), ("read_problem", pa.string()),
    ("period_start", pa.timestamp("us")), ("period_end", pa.timestamp("us")), ("model", pa.string()),
    ("provider", pa.string()), ("customer", pa.string()), ("channel", pa.string()),
    ("operation", pa.string()), ("requests", pa.string()), ("input_tokens", pa.string()),
    ("cached_input_tokens", pa.string()), ("cache_write_tokens", pa.string()),
    ("output_tokens", pa.string()), ("reasoning_tokens", pa.string()),
])  # fmt: skip


def _bad(n: int, raw: object, why: str) -> dict:
    return {"line": n, "raw": _json(raw), "is_json": False, "read_problem": why}


def _model(r: dict) -> str:
    return _text(r.get("model")) or NO_MODEL


def _openai_usage(n: int, r: dict, start: object, end: object) -> dict:
    kind = str(r.get("object", "")).removeprefix("organization.usage.").removesuffix(".result")
    operation = _OPERATION.get(kind, kind or "chat")
    if r.get("batch") is True:
        operation += "-batch"
    counted = operation.split("-")[0] not in NO_TOKENS
    return {
        "line": n, "raw": _json({"bucket": {"start_time": start, "end_time": end}, "result": r}),
        "is_json": True, "read_problem": None, "model": _model(r), "provider": "OpenAI",
        "customer": _text(r.get("project_id")), "channel": None, "operation": operation,
        "requests": _text(r.get("num_model_requests")),
        "input_tokens": _sum(r.get("input_tokens"), r.get("input_audio_tokens")) if counted else None,
        "cached_input_tokens": _sum(r.get("input_cached_tokens")) if counted else None,
        "cache_write_tokens": None,
        "output_tokens": _sum(r.get("output_tokens"), r.get("output_audio_tokens")) if counted else None,
        "reasoning_tokens": None,
    }  # fmt: skip


def _anthropic_usage(n: int, r: dict, start: object, end: object) -> dict:
    creation = r.get("cache_creation")
    writes = list(creation.values()) if isinstance(creation, dict) else []
    if creation is not None and not isinstance(creation, dict):
        writes = [creation]
    write_total = _sum(*writes)
    return {
        "line": n, "raw": _json({"bucket": {"starting_at": start, "ending_at": end}, "result": r}),
        "is_json": True, "read_problem": None, "model": _model(r), "provider": "Anthropic",
        "customer": _text(r.get("workspace_id")), "channel": None,
        "operation": "messages" + ("" if r.get("service_tier") in (None, "standard")
                                   else f"-{_text(r.get('service_tier'))}"),
        "requests": None,  # the usage report counts tokens, not requests: unknown
        "input_tokens": _sum(r.get("uncached_input_tokens"), write_total, r.get("cache_read_input_tokens")),
        "cached_input_tokens": _sum(r.get("cache_read_input_tokens")),
        "cache_write_tokens": write_total,
        "output_tokens": _sum(r.get("output_tokens")), "reasoning_tokens": None,
    }  # fmt: skip


#: The FOCUS columns a cost report's rows are written with (all text; the FOCUS rules type them).
COST_COLUMNS = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingAccountName",
    "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory", "ChargeClass",
    "ChargeDescription", "ChargeFrequency", "ChargePeriodStart", "ChargePeriodEnd", "InvoiceIssuerName",
    "PricingQuantity", "PricingUnit", "ServiceProviderName", "HostProviderName", "ServiceCategory",
    "ServiceName", "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SubAccountId",
    "x_model", "x_token_type", "x_line_item", "x_cost_type", "x_service_tier", "x_context_window",
    "x_report_format",
)  # fmt: skip
#: A cost report names no billing account: its charges are filed under this one, so that
#: restatement (provider, account, billing period) holds between two saves of one report.
REPORT_ACCOUNT = "api-organization"

_DIRECTION = {
    "input": ("Input", "Uncached"), "uncached_input_tokens": ("Input", "Uncached"),
    "output": ("Output", None), "output_tokens": ("Output", None),
    "cached input": ("Input", "Read"), "cache_read_input_tokens": ("Input", "Read"),
    "cache_creation.ephemeral_5m_input_tokens": ("Input", "Write"),
    "cache_creation.ephemeral_1h_input_tokens": ("Input", "Write"),
}  # fmt: skip


def cost_rows(path: Path, fmt: str) -> pa.Table:
    """An OpenAI or Anthropic cost report as FOCUS rows of text (COST_COLUMNS), one a result:
    BilledCost and EffectiveCost the amount (Anthropic's cents moved two places, exactly),
    the charge period the bucket's, the billing period its calendar month; the model and
    token type as the FOCUS AI-billing draft writes them (SkuId, SkuMeter, SkuPriceDetails).
    List and contracted cost are not in the report and stay null (flagged)."""
    docs = documents(path)
    openai = fmt == "openai-costs"
    keys = ("start_time", "end_time") if openai else ("starting_at", "ending_at")
    moment = _epoch if openai else _iso
    rows = []
    for start, end, results in _buckets(docs, *keys):
        begin, finish = moment(start), moment(end)
        for r in results:
            if not isinstance(r, dict):
                r = {"not_an_object": _text(r)}
            rows.append(_cost_row(r, openai, start, end, begin, finish))
    columns = {c: [row.get(c) for row in rows] for c in COST_COLUMNS}
    return pa.table({c: pa.array(v, pa.string()) for c, v in columns.items()})


def _cost_row(r: dict, openai: bool, start, end, begin: datetime | None, finish: datetime | None) -> dict:
    provider = "OpenAI" if openai else "Anthropic"
    if openai:
        amount = r.get("amount") if isinstance(r.get("amount"), dict) else {}
        value, currency = _text(amount.get("value")), _text(amount.get("currency"))
        item = _text(r.get("line_item"))
        model, _, token = (item or "").partition(", ")
        model, token = (model or None), (token or None)
    else:
        value, currency = _cents(_text(r.get("amount"))), _text(r.get("currency"))
        item, model, token = _text(r.get("description")), _text(r.get("model")), _text(r.get("token_type"))
    direction, cache = _DIRECTION.get((token or "").lower(), (None, None))
    named = {"ModelId": model, "TokenDirection": direction, "TokenCacheAction": cache}
    details = {k: v for k, v in named.items() if v is not None}
    month = begin.replace(day=1, hour=0, minute=0, second=0, microsecond=0) if begin else None
    return {
        "BilledCost": value, "EffectiveCost": value, "ListCost": None, "ContractedCost": None,
        "BillingAccountId": REPORT_ACCOUNT, "BillingAccountName": f"{provider} organization",
        "BillingCurrency": currency.upper() if currency else None,
        "BillingPeriodStart": _stamp(month), "BillingPeriodEnd": _stamp(_next_month(month)),
        "ChargeCategory": "Usage", "ChargeClass": None,
        "ChargeDescription": item or f"{provider} API usage", "ChargeFrequency": "Usage-Based",
        "ChargePeriodStart": _stamp(begin) or _text(start), "ChargePeriodEnd": _stamp(finish) or _text(end),
        "InvoiceIssuerName": provider, "PricingQuantity": None, "PricingUnit": None,
        "ServiceProviderName": provider, "HostProviderName": provider,
        "ServiceCategory": "AI and Machine Learning", "ServiceName": f"{provider} API",
        "ServiceSubcategory": "Generative AI",
        "SkuId": f"{model}-{token}" if model and token else model, "SkuMeter": token,
        "SkuPriceDetails": json.dumps(details, sort_keys=True) if details else None,
        "SubAccountId": _text(r.get("project_id") if openai else r.get("workspace_id")),
        "x_model": model, "x_token_type": token, "x_line_item": item if openai else None,
        "x_cost_type": _text(r.get("cost_type")), "x_service_tier": _text(r.get("service_tier")),
        "x_context_window": _text(r.get("context_window")),
        "x_report_format": "openai-costs" if openai else "anthropic-costs",
    }  # fmt: skip


def _cents(text: str | None) -> str | None:
    """Anthropic's amount in cents ('123.45') as the currency's unit ('1.2345'), exactly;
    text that is no number is passed on for the FOCUS rules to refuse with its reason."""
    if text is None:
        return None
    try:
        with localcontext(prec=200):
            value = Decimal(text.strip())
            if not value.is_finite():
                return text
            return format(value.scaleb(-2), "f")
    except InvalidOperation:
        return text


def _stamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _next_month(month: datetime | None) -> datetime | None:
    if month is None:
        return None
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
