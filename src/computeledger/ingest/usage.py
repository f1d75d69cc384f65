"""Token usage telemetry into the `usage` table: OpenAI-style usage records (JSONL) and
OpenTelemetry GenAI spans (OTLP JSON).

One row per record or span: its period, model, customer, channel, requests and tokens
(input includes cached input, output includes reasoning, as both formats count them).
The store reads the file into typed columns; the checks here are Ibis expressions. One
unit of work per file; an identical file (same sha256) is a duplicate; a record without
a model or a period is quarantined with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import ibis
import ibis.expr.types as ir

from computeledger.errors import UsageError
from computeledger.ingest.api_reports import (
    COST_FORMATS,
    NO_MODEL,
    NO_MODEL_HINT,
    NO_TOKENS,
    USAGE_FORMATS,
    NotAReport,
    sniff,
    usage_records,
)
from computeledger.ingest.files import encoding_problem, fingerprint, path_text
from computeledger.ingest.normalize import RAW, REASON, ROW
from computeledger.ingest.typed import Field, match_columns, read_fields, whole_number
from computeledger.portable import iso_utc, strip
from computeledger.schema.tables import USAGE
from computeledger.store import Store, Unreadable
from computeledger.store.openai_usage import epoch_seconds

FORMATS = {".jsonl": "openai-usage", ".ndjson": "openai-usage", ".json": "otel-spans", ".csv": "usage-csv"}
#: Every format `--format` may name: the record files above, and the API reports.
ALL_FORMATS = ("openai-usage", "otel-spans", "usage-csv", *USAGE_FORMATS)


def _suffix(path: Path) -> str:
    """The suffix that tells the format: `.json` of `spans.json.gz` too."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz":
        return suffixes[-2]
    return path.suffix.lower()


def format_of(path: Path, named: str | None = None) -> tuple[str | None, str | None]:
    """(format, why not) of a usage file: the one named, else told from the content for
    JSON (an OTLP export, an API's usage report, or usage records a line) and from the
    suffix for CSV. A cost report is not usage: it is a bill (`computeledger ingest`)."""
    suffix = _suffix(path)
    if named is None and suffix not in FORMATS:
        return None, (
            "not a usage file: use .jsonl (usage records), .json (OTLP spans or an API usage report) or .csv"
        )
    if (why := encoding_problem(path, None)) is not None:
        return None, why
    if named is not None:
        return named, None
    if suffix == ".csv":
        return "usage-csv", None
    found = sniff(path)
    if found in COST_FORMATS:
        return None, f"a cost report ({found}), not usage: load it as a bill with `computeledger ingest`"
    return found or FORMATS[suffix], None


#: The columns of a plain usage CSV (a gateway's export): a period (start, and end or a
#: day), the model, customer and channel, and the counts.
CSV_FIELDS = [
    Field("period_start", "time", True, ("start", "start_time_iso", "start_time", "date", "day")),
    Field("period_end", "time", False, ("end", "end_time_iso", "end_time")),
    Field("model", "text", True),
    Field("customer", "text", False, ("project", "project_id", "user", "team")),
    Field("channel"),
    Field("operation"),
    Field("requests", "integer", False, ("num_model_requests", "request_count")),
    Field("input_tokens", "integer", True, ("prompt_tokens",)),
    Field("cached_input_tokens", "integer", False, ("input_cached_tokens", "cache_read_input_tokens")),
    Field("output_tokens", "integer", False, ("completion_tokens",)),
    Field("reasoning_tokens", "integer", False, ("output_reasoning_tokens",)),
    Field("provider", "text", False, ("gen_ai.provider.name", "vendor")),
    Field("cache_write_tokens", "integer", False, ("cache_creation_input_tokens",)),
    # OpenAI's usage export (its Usage API's results flattened): audio counts apart, as
    # the API gives them, and the batch flag its JSON reader turns into the operation
    Field("input_audio_tokens", "integer"),
    Field("output_audio_tokens", "integer"),
    Field("batch"),
]
#: Epoch seconds (OpenAI's start_time and end_time), read as the UTC time they count to.
EPOCH = r"^\s*\d{9,11}\s*$"

#: The OpenTelemetry span attributes that carry the customer, the channel and the number
#: of requests a span stands for (GenAI conventions name none of them).
OTEL_ATTRIBUTES = {"customer": "lab.customer", "channel": "lab.channel", "requests": "lab.request_count"}


@dataclass
class UsageResult:
    """What happened to one usage file."""

    path: str
    format: str
    status: str  # loaded, duplicate, refused
    rows_loaded: int = 0
    rows_quarantined: int = 0
    message: str = ""
    reasons: list[str] = field(default_factory=list)


def usage_files(paths: Iterable[str | Path]) -> list[Path]:
    """The usage files named, and those under the folders named, in a stable order."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if _suffix(f) in FORMATS and f.is_file())
        elif p.is_file():
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    return out


def ingest_usage(
    store: Store,
    paths: Iterable[str | Path],
    attributes: dict[str, str] | None = None,
    fmt: str | None = None,
) -> list[UsageResult]:
    """Load every usage file; `attributes` renames the OTLP attributes of OTEL_ATTRIBUTES;
    `fmt` (one of ALL_FORMATS) names the format where the content does not tell it."""
    if fmt is not None and fmt not in ALL_FORMATS:
        raise UsageError(f"--format: not a usage format: {fmt!r} (known: {', '.join(ALL_FORMATS)})")
    names = OTEL_ATTRIBUTES | (attributes or {})
    return [_one(store, f, names, fmt) for f in usage_files(paths)]


#: A count a usage format may leave out, and what it then is (None: it stays unknown).
_ABSENT = {"requests": None, "input_tokens": None, "cached_input_tokens": 0, "output_tokens": 0,
           "reasoning_tokens": 0, "cache_write_tokens": 0}  # fmt: skip


def _counted(records: ir.Table, fmt: str) -> ir.Table:
    """The counts of a JSONL or OTLP record (text from the reader) as whole numbers: one
    parse for every engine and format. A count present but not a whole number ('abc',
    '2.5', '1e30'; '5.0' is 5) is the record's reason (`cl_read`), never read as 0; an absent
    one takes its default (a span without a request count is one request)."""
    missing = {"provider": ibis.null("string"), "cache_write_tokens": ibis.null("string")}
    records = records.mutate(**{k: v for k, v in missing.items() if k not in records.columns})
    values, problems = {}, []
    for name, default in _ABSENT.items():
        if fmt.startswith("otel") and name == "requests":
            default = 1
        if fmt in USAGE_FORMATS and name != "cache_write_tokens":
            default = None  # a report's count it does not give is unknown, never 0
        value, trouble = whole_number(name, records[name].cast("string"))
        values[name] = value if default is None else ibis.coalesce(value, ibis.literal(default, "int64"))
        problems.append(trouble)
    problems.insert(0, records.read_problem)
    return records.mutate(**values, cl_read=ibis.literal("; ").join(problems).nullif("")).drop("read_problem")


NO_PERIOD = "no period: start or end time missing or out of range"


def problem(t: ir.Table) -> ir.StringValue:
    """Why a usage record cannot be loaded; null when it can."""
    return ibis.cases(
        (t.cl_read.notnull(), t.cl_read),
        (~t.is_json, "not a JSON object"),
        (t.model.isnull(), "no model"),
        (
            t.period_start.isnull() | t.period_end.isnull(),
            "no period: start or end time missing or out of range",
        ),
        (t.input_tokens.isnull() & ~_counts_no_tokens(t), "no input token count"),
        *((t[name] < 0, f"{name}: a negative count") for name in _ABSENT),
        (
            (t.cached_input_tokens + t.cache_write_tokens.fill_null(0) > t.input_tokens)
            | (t.reasoning_tokens > t.output_tokens),
            "token counts do not add up",
        ),
        else_=ibis.null("string"),
    )


def _counts_no_tokens(t: ir.Table) -> ir.BooleanValue:
    """Results an API counts in images, characters or seconds: their tokens are unknown."""
    return t.operation.re_search("^(" + "|".join(NO_TOKENS) + ")").fill_null(False)


def _one(store: Store, path: Path, attributes: dict[str, str], named: str | None = None) -> UsageResult:
    fmt, why = format_of(path, named)
    result = UsageResult(path_text(path), fmt or "unknown", "refused")
    if fmt is None:
        result.message = why or "not a usage file"
        return result
    sha = fingerprint(path, None).sha256
    ingests = store.table("ingests")
    seen = (
        ingests.filter((ingests.sha256 == sha) & (ingests.status == "loaded") & (ingests.format == fmt))
        .ingest_id.min()
        .to_pyarrow()
        .as_py()
    )
    if seen is not None:
        result.status, result.message = "duplicate", f"same content as ingest {seen}"
        return result
    started = datetime.now(UTC).replace(tzinfo=None)
    try:
        if fmt == "usage-csv":
            records = _csv_records(store, path)
        elif fmt in USAGE_FORMATS:
            records = _counted(ibis.memtable(usage_records(path, fmt)), fmt)
        else:
            records = _counted(store.read_usage(path, fmt, attributes), fmt)
    except (Unreadable, NotAReport) as exc:
        result.message = str(exc)
        with store.transaction():
            _record(store, result, sha, started)
        return result
    with store.scratch(_checked(store, records)) as rows, store.transaction():
        ingest_id = store.next_id("ingests", "ingest_id")
        good = rows.filter(rows.cl_problem.isnull())
        store.append(
            "usage",
            good.mutate(ingest_id=ibis.literal(ingest_id, "int64"), source_file=ibis.literal(path_text(path)))
            .select(*USAGE.names),
        )  # fmt: skip
        bad = rows.filter(rows.cl_problem.notnull())
        counts = (
            bad.group_by(r=bad.cl_problem).aggregate(n=bad.count()).order_by("r").to_pyarrow().to_pylist()
        )
        if counts:
            store.append("quarantine", bad.select(
                ingest_id=ibis.literal(ingest_id, "int64"), source_file=ibis.literal(path_text(path)),
                source_line=bad.line, raw=bad.raw, reason=bad.cl_problem,
            ))  # fmt: skip
        result.rows_loaded = rows.count().to_pyarrow().as_py() - sum(c["n"] for c in counts)
        result.rows_quarantined = sum(c["n"] for c in counts)
        result.reasons = [f"{c['n']} records: {c['r']}" for c in counts]
        result.status = "loaded"
        unnamed = good.filter(good.model == NO_MODEL).count().to_pyarrow().as_py()
        if unnamed:
            result.message = (
                f"{unnamed} record(s) without a model loaded under the model '{NO_MODEL}': {NO_MODEL_HINT}"
            )
        _record(store, result, sha, started, ingest_id)
    return result


def usage_key(t: ir.Table) -> ir.StringValue:
    """Model, customer, channel and period as one value: what two sources of the same usage
    (a JSONL export and OpenTelemetry spans, or two files) share."""
    sep = "\x1f"
    parts = [t.model, t.customer.fill_null(""), t.channel.fill_null(""),
             t.period_start.cast("string"), t.period_end.cast("string")]  # fmt: skip
    key = parts[0]
    for p in parts[1:]:
        key = key + sep + p
    return key


def _checked(store: Store, records: ir.Table) -> ir.Table:
    """The records with their reason to be set aside, if any: their own problem, or usage the
    ledger already holds from another source (the same model, customer, channel and period
    in an earlier ingest: the earlier stands, nothing is summed twice)."""
    usage = store.table("usage")
    prior = usage.group_by(cl_key=usage_key(usage)).aggregate(cl_prior=usage.ingest_id.min())
    keyed = records.mutate(cl_key=usage_key(records))
    joined = keyed.left_join(prior, keyed.cl_key == prior.cl_key)
    again = (
        "the same model, customer, channel and period as ingest "
        + joined.cl_prior.cast("string")
        + " (another source of this usage): set aside, the earlier stands"
    )
    reason = ibis.ifelse(joined.cl_prior.notnull(), again, problem(joined))
    return joined.mutate(cl_problem=ibis.coalesce(problem(joined), reason)).drop(
        "cl_key", "cl_prior", *[c for c in joined.columns if c.endswith("_right")]
    )


def _record(
    store: Store, result: UsageResult, sha: str, started: datetime, ingest_id: int | None = None
) -> None:
    row = {
        "ingest_id": ingest_id or store.next_id("ingests", "ingest_id"), "batch_id": None,
        "path": result.path, "sha256": sha, "mapping_sha256": None, "format": result.format,
        "focus_version": None, "version_evidence": None, "rounding": None,
        "rows_read": result.rows_loaded + result.rows_quarantined,
        "rows_loaded": result.rows_loaded, "rows_quarantined": result.rows_quarantined,
        "rows_superseded": 0, "status": result.status, "superseded_by": None,
        "message": result.message, "started_at": started,
        "finished_at": datetime.now(UTC).replace(tzinfo=None),
    }  # fmt: skip
    row["batch_id"] = f"usage-{row['ingest_id']}"
    store.append("ingests", store.memtable([row], "ingests"))


def _csv_records(store: Store, path: Path) -> ir.Table:
    """A usage CSV as the records the JSON readers give: a value that cannot be read is
    the record's reason; a record with a start and no end covers its start's day. Times
    are ISO 8601 or epoch seconds; OpenAI's usage export (its Usage API's results as CSV)
    reads as its JSON does."""
    staged = store.stage(path, "csv")
    columns = match_columns(staged.columns, CSV_FIELDS)
    missing = [f.name for f in CSV_FIELDS if f.required and f.name not in columns]
    if missing:
        cost = {"amount_value", "cost", "cost_usd", "billedcost"} & {
            c.strip().lower() for c in staged.columns
        }
        hint = "; its costs make it a bill: load it with `computeledger ingest`" if cost else ""
        raise Unreadable(f"not a usage CSV: missing column(s) {', '.join(missing)}{hint}")
    if staged.rejects:
        record, _, message = staged.rejects[0]
        raise Unreadable(f"record {record} cannot be read: {message}")
    raw = staged.table
    periods = {columns[f] for f in ("period_start", "period_end") if f in columns}
    # epoch seconds as ISO text; out of range, the text stays, for its reason to show it
    as_iso = {c: iso_utc(epoch_seconds(strip(raw[c]))).fill_null(raw[c]) for c in periods}
    raw = raw.mutate(**{c: ibis.ifelse(raw[c].re_search(EPOCH), as_iso[c], raw[c]) for c in periods})
    t = read_fields(raw, CSV_FIELDS, columns)
    start = ibis.ifelse(t.period_end.isnull(), t.period_start.truncate("D"), t.period_start)
    end = ibis.coalesce(t.period_end, start + ibis.interval(days=1))
    batch = t.batch.lower().isin(["true", "1", "yes"]).fill_null(False)
    operation = ibis.coalesce(t.operation, ibis.literal("chat"))
    return t.select(
        line=(t[ROW] + staged.first_line).cast("int64"),
        raw=ibis.coalesce(t[RAW], ibis.literal("")),
        is_json=ibis.literal(True),
        period_start=start,
        period_end=end,
        model=t.model,
        customer=t.customer,
        channel=t.channel,
        operation=ibis.ifelse(batch, operation + "-batch", operation),
        requests=t.requests,
        input_tokens=t.input_tokens + t.input_audio_tokens.fill_null(0),
        cached_input_tokens=t.cached_input_tokens.fill_null(0),
        output_tokens=t.output_tokens.fill_null(0) + t.output_audio_tokens.fill_null(0),
        # a file that does not count reasoning apart (OpenAI's export): unknown, never 0
        reasoning_tokens=t.reasoning_tokens.fill_null(0)
        if "reasoning_tokens" in columns
        else t.reasoning_tokens,
        provider=t.provider,
        cache_write_tokens=t.cache_write_tokens.fill_null(0),
        cl_read=t[REASON],
    )
