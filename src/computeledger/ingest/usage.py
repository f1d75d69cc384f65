"""Token usage telemetry into the `usage` table: OpenAI-style usage records (JSONL) and
OpenTelemetry GenAI spans (OTLP JSON).

One row per record or span: its period, model, customer, channel, requests and tokens
(input includes cached input, output includes reasoning, as both formats count them).
Reading the files is the backend-specific step (DuckDB's JSON reader, nested lists
unnested in SQL); one transaction per file; an identical file (same sha256) is a
duplicate; a record without a model or a period is quarantined with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from computeledger.errors import UsageError
from computeledger.ingest.files import fingerprint

FORMATS = {".jsonl": "openai-usage", ".ndjson": "openai-usage", ".json": "otel-spans"}

# JSONL is read line by line as text, so that a damaged line is quarantined with its line
# number and text (a JSON reader would refuse the whole file, or skip the line unseen).
_LINES = """
SELECT * FROM read_csv(?, columns = {'j': 'VARCHAR'}, header = false, delim = chr(1), quote = '',
                       escape = '', auto_detect = false, max_line_size = 4194304)
"""


def _field(path: str) -> str:
    return f"json_extract_string(j, '$.{path}')"


_OPENAI = f"""
SELECT
  line,
  raw,
  j IS NOT NULL AND json_type(j) = 'OBJECT' AS is_json,
  to_timestamp(TRY_CAST({_field("start_time")} AS BIGINT)) AT TIME ZONE 'UTC' AS period_start,
  to_timestamp(TRY_CAST({_field("end_time")} AS BIGINT)) AT TIME ZONE 'UTC' AS period_end,
  {_field("model")} AS model,
  {_field("project_id")} AS customer,
  {_field("metadata.channel")} AS channel,
  CASE WHEN {_field("object")} LIKE '%embeddings%' THEN 'embeddings' ELSE 'chat' END AS operation,
  TRY_CAST({_field("num_model_requests")} AS BIGINT) AS requests,
  TRY_CAST({_field("input_tokens")} AS BIGINT) AS input_tokens,
  coalesce(TRY_CAST({_field("input_cached_tokens")} AS BIGINT), 0) AS cached_input_tokens,
  coalesce(TRY_CAST({_field("output_tokens")} AS BIGINT), 0) AS output_tokens,
  coalesce(TRY_CAST({_field("output_reasoning_tokens")} AS BIGINT), 0) AS reasoning_tokens
FROM (
  SELECT rowid + 1 AS line, j AS raw, CASE WHEN coalesce(json_valid(j), false) THEN j END AS j
  FROM cl_usage_lines
  WHERE j IS NOT NULL AND trim(j) <> ''
)
"""

_ATTR = "list_filter(sp.attributes, a -> a.key = '{key}')[1].value"

_OTEL = f"""
WITH rs AS (SELECT unnest(resourceSpans) AS rs FROM read_json(?, maximum_object_size = {{size}})),
ss AS (SELECT unnest(rs.scopeSpans) AS ss FROM rs),
spans AS (SELECT unnest(ss.spans) AS sp FROM ss)
SELECT
  CAST(NULL AS BIGINT) AS line,
  to_json(sp)::VARCHAR AS raw,
  true AS is_json,
  make_timestamp(CAST(TRY_CAST(sp.startTimeUnixNano AS HUGEINT) // 1000 AS BIGINT)) AS period_start,
  make_timestamp(CAST(TRY_CAST(sp.endTimeUnixNano AS HUGEINT) // 1000 AS BIGINT)) AS period_end,
  {_ATTR.format(key="gen_ai.request.model")}.stringValue AS model,
  {_ATTR.format(key="lab.customer")}.stringValue AS customer,
  {_ATTR.format(key="lab.channel")}.stringValue AS channel,
  {_ATTR.format(key="gen_ai.operation.name")}.stringValue AS operation,
  coalesce(TRY_CAST({_ATTR.format(key="lab.request_count")}.intValue AS BIGINT), 1) AS requests,
  TRY_CAST({_ATTR.format(key="gen_ai.usage.input_tokens")}.intValue AS BIGINT) AS input_tokens,
  coalesce(TRY_CAST({_ATTR.format(key="gen_ai.usage.cache_read.input_tokens")}.intValue AS BIGINT), 0)
    AS cached_input_tokens,
  coalesce(TRY_CAST({_ATTR.format(key="gen_ai.usage.output_tokens")}.intValue AS BIGINT), 0) AS output_tokens,
  coalesce(TRY_CAST({_ATTR.format(key="gen_ai.usage.reasoning.output_tokens")}.intValue AS BIGINT), 0)
    AS reasoning_tokens
FROM spans
"""

_COLUMNS = ("period_start", "period_end", "model", "customer", "channel", "operation", "requests",
            "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens")  # fmt: skip


@dataclass
class UsageResult:
    path: str
    format: str
    status: str  # loaded, duplicate, refused
    rows_loaded: int = 0
    rows_quarantined: int = 0
    message: str = ""
    reasons: list[str] = field(default_factory=list)


def usage_files(paths) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix.lower() in FORMATS and f.is_file())
        elif p.is_file():
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    return out


def ingest_usage(ledger, paths) -> list[UsageResult]:
    return [_one(ledger, f) for f in usage_files(paths)]


def _one(ledger, path: Path) -> UsageResult:
    fmt = FORMATS.get(path.suffix.lower())
    result = UsageResult(str(path), fmt or "unknown", "refused")
    if fmt is None:
        result.message = "not a usage file: use .jsonl (OpenAI usage records) or .json (OTLP spans)"
        return result
    raw = ledger.con.con
    sha = fingerprint(path, None).sha256
    seen = raw.execute(
        "SELECT ingest_id FROM ingests WHERE sha256 = ? AND status = 'loaded' AND format = ?", [sha, fmt]
    ).fetchone()
    if seen:
        result.status, result.message = "duplicate", f"same content as ingest {seen[0]}"
        return result
    started = datetime.now(UTC).replace(tzinfo=None)
    try:
        # an OTLP export is one JSON document: the reader's buffer must hold the whole file
        size = max(16 * 2**20, path.stat().st_size + 2**20)
        if fmt == "openai-usage":
            raw.execute(f"CREATE OR REPLACE TEMP TABLE cl_usage_lines AS {_LINES}", [str(path)])
            raw.execute(f"CREATE OR REPLACE TEMP TABLE cl_usage AS {_OPENAI}")
        else:
            query = _OTEL.replace("{size}", str(int(size)))
            raw.execute(f"CREATE OR REPLACE TEMP TABLE cl_usage AS {query}", [str(path)])
    except duckdb.Error as exc:
        result.message = f"not readable as {fmt}: {str(exc).splitlines()[0]}"
        _record(raw, result, sha, started)
        return result
    bad = (
        "CASE WHEN NOT is_json THEN 'not a JSON object' "
        "WHEN model IS NULL THEN 'no model' WHEN period_start IS NULL OR period_end IS NULL "
        "THEN 'no period (start and end time)' WHEN input_tokens IS NULL THEN 'no input token count' "
        "WHEN input_tokens < 0 OR output_tokens < 0 OR cached_input_tokens > input_tokens "
        "OR reasoning_tokens > output_tokens THEN 'token counts do not add up' END"
    )
    raw.execute("BEGIN TRANSACTION")
    try:
        ingest_id = _record(raw, result, sha, started, provisional=True)
        cols = ", ".join(_COLUMNS)
        raw.execute(
            f"INSERT INTO usage SELECT ?, ?, {cols} FROM cl_usage WHERE ({bad}) IS NULL",
            [ingest_id, str(path)],
        )
        reasons = raw.execute(
            f"SELECT {bad} AS r, count(*) FROM cl_usage WHERE r IS NOT NULL GROUP BY 1"
        ).fetchall()
        result.rows_loaded = raw.execute(
            "SELECT count(*) FROM usage WHERE ingest_id = ?", [ingest_id]
        ).fetchone()[0]
        result.rows_quarantined = sum(n for _, n in reasons)
        result.reasons = [f"{n} records: {r}" for r, n in reasons]
        raw.execute(
            "INSERT INTO quarantine SELECT ?, ?, line, raw, " + bad + " FROM cl_usage "
            f"WHERE ({bad}) IS NOT NULL",
            [ingest_id, str(path)],
        )
        result.status = "loaded"
        raw.execute(
            "UPDATE ingests SET status = 'loaded', rows_read = ?, rows_loaded = ?, rows_quarantined = ? "
            "WHERE ingest_id = ?",
            [
                result.rows_loaded + result.rows_quarantined,
                result.rows_loaded,
                result.rows_quarantined,
                ingest_id,
            ],
        )
        raw.execute("COMMIT")
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    return result


def _record(raw, result: UsageResult, sha: str, started, provisional: bool = False) -> int:
    ingest_id = raw.execute("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingests").fetchone()[0]
    raw.execute(
        "INSERT INTO ingests (ingest_id, batch_id, path, sha256, format, rows_read, rows_loaded, "
        "rows_quarantined, rows_superseded, status, message, started_at, finished_at) "
        "VALUES (?, ?, ?, ?, ?, 0, 0, 0, 0, ?, ?, ?, ?)",
        [ingest_id, f"usage-{ingest_id}", result.path, sha, result.format,
         "loading" if provisional else result.status, result.message, started,
         datetime.now(UTC).replace(tzinfo=None)],
    )  # fmt: skip
    return ingest_id
