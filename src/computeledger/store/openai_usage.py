"""OpenAI-style usage records (the usage API's JSON lines) as one Ibis expression over
numbered lines: written once, rendered by each engine (DuckDB and Spark SQL alike).

Every field stays text (`ingest/usage.py` types it, with reasons); a line that is not a
JSON object keeps its line and its raw text, `is_json` false.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from computeledger import portable

#: Seconds since 1970 that a timestamp can hold (to 9999-12-31): others are no period.
EPOCH_MAX = 253402300799


def records(lines: ir.Table) -> ir.Table:
    """The usage records of `lines` (columns `line`, `j`, and `is_json` if the engine's
    reader has told it): blank lines dropped, the rest one record each, with the period,
    model, customer, channel, operation and counts."""
    lines = lines.filter(lines.j.notnull() & (portable.strip(lines.j) != ""))
    is_json = lines.is_json if "is_json" in lines.columns else portable.is_json_object(lines.j)
    doc = ibis.ifelse(is_json, lines.j, ibis.null("string"))

    def field(key: str) -> ir.StringValue:
        return portable.json_field(doc, key, checked=True)

    return lines.select(
        line=lines.line.cast("int64"),
        raw=lines.j,
        is_json=is_json.fill_null(False),
        read_problem=ibis.null("string"),
        period_start=epoch_seconds(field("start_time")),
        period_end=epoch_seconds(field("end_time")),
        model=field("model"),
        customer=field("project_id"),
        channel=portable.json_field(field("metadata"), "channel"),
        operation=ibis.ifelse(field("object").contains("embeddings"), "embeddings", "chat"),
        requests=field("num_model_requests"),
        input_tokens=field("input_tokens"),
        cached_input_tokens=field("input_cached_tokens"),
        output_tokens=field("output_tokens"),
        reasoning_tokens=field("output_reasoning_tokens"),
    )


def epoch_seconds(text: ir.StringValue) -> ir.TimestampValue:
    """Epoch seconds to a UTC timestamp; out of range (or not a whole number) is null."""
    seconds = text.try_cast(dt.int64)
    return ibis.ifelse(
        seconds.between(0, EPOCH_MAX), seconds.as_timestamp("s").cast(dt.Timestamp()), ibis.null("timestamp")
    )
