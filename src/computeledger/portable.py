"""JSON in text columns, regex back-references and trimming, the same on every backend.

Ibis casts text to JSON on DuckDB; Spark has no JSON type and reads JSON text with its
own functions. Each helper looks up its implementation by the name of the Ibis backend
the expression runs on (`duckdb`, `pyspark`) and raises on a backend it does not know,
so the ledger's rules stay one set of Ibis expressions and a new backend's gaps show up
as one clear error per helper. A new backend adds its entry to each table below.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from computeledger.errors import UsageError


@ibis.udf.scalar.builtin(name="get_json_object")
def _get_json_object(doc: str, path: str) -> str:  # Spark's own function
    """The value at a JSON path, as text."""


@ibis.udf.scalar.builtin(name="from_json")
def _from_json(doc: str, schema: str) -> dt.Map(dt.string, dt.string):  # Spark's own function
    """A JSON object as a map; null when the text is not one."""


@ibis.udf.scalar.builtin(name="json_valid")
def _json_valid(doc: str) -> bool:  # DuckDB's own function
    """Whether text parses as JSON."""


@ibis.udf.scalar.builtin(name="json_extract_string")
def _json_extract_string(doc: str, path: str) -> str:  # DuckDB's own function
    """The value at a JSON path (or pointer) as text; an error if `doc` is not JSON."""


@ibis.udf.scalar.builtin(name="to_json")
def _to_json(value: str) -> str:  # DuckDB's own function
    """A value as JSON text: a string quoted, its quotes, backslashes and controls escaped."""


def backend_name(expr: ir.Expr) -> str:
    """The Ibis backend an expression runs on (an expression of literals only: DuckDB)."""
    return _backend_of(expr.op())


@functools.lru_cache(maxsize=4096)
def _backend_of(op: Any) -> str:
    """Per node, once: finding the backend walks the whole expression below it, and the
    FOCUS rules ask it of hundreds of nodes of one large expression."""
    try:
        return op.to_expr()._find_backend(use_default=True).name
    except Exception:  # an expression of literals only
        return "duckdb"


def _pick(table: dict[str, Callable], expr: ir.Expr, what: str) -> Callable:
    name = backend_name(expr)
    if name not in table:
        raise UsageError(f"{what} has no implementation for the {name!r} backend (known: {', '.join(table)})")
    return table[name]


def _json_field_spark(doc: ir.StringValue, key: str, checked: bool = False) -> ir.StringValue:
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return _get_json_object(doc, f"$['{escaped}']")


def _json_field_duckdb(doc: ir.StringValue, key: str, checked: bool = False) -> ir.StringValue:
    pointer = "/" + key.replace("~", "~0").replace("/", "~1")  # RFC 6901: any key, verbatim
    if checked:
        return _json_extract_string(doc, pointer)
    return ibis.ifelse(_json_valid(doc), _json_extract_string(doc, pointer), ibis.null("string"))


_JSON_FIELD = {"duckdb": _json_field_duckdb, "pyspark": _json_field_spark}


def json_field(doc: ir.StringValue, key: str, checked: bool = False) -> ir.StringValue:
    """`doc`'s top-level `key` as text (a number as its digits, an object or array as its
    JSON), null if absent, JSON null, or `doc` is not JSON. On DuckDB the text is parsed
    by the JSON functions directly, twice as fast as through a cast to JSON. `checked`:
    the caller knows `doc` is JSON or null (its validity is not tested again)."""
    return _pick(_JSON_FIELD, doc, "json_field")(doc, key, checked)


def _object_text_duckdb(members: dict[str, ir.StringValue]) -> ir.StringValue:
    # one CONCAT_WS: it skips null members, and builds the text once (a chain of || copies it
    # at every step)
    parts = [ibis.literal(json.dumps(k, ensure_ascii=False) + ":") + _to_json(v) for k, v in members.items()]
    return ("{" + ibis.literal(",").join(parts) + "}").nullif("{}")


def _object_text_spark(members: dict[str, ir.StringValue]) -> ir.StringValue:
    # each value as to_json writes it in a struct of one ('{"v":"..."}', cut to its value);
    # the session keeps null fields in JSON (as DuckDB does), so null members are skipped here
    parts = []
    for k, v in members.items():
        one = ibis.struct({"v": v}).cast(dt.json).cast(dt.string)
        value = one.substr(5, one.length() - 6)
        parts.append(
            ibis.ifelse(v.isnull(), ibis.null("string"), json.dumps(k, ensure_ascii=False) + ":" + value)
        )
    return ("{" + ibis.literal(",").join(parts) + "}").nullif("{}")


_OBJECT_TEXT = {"duckdb": _object_text_duckdb, "pyspark": _object_text_spark}


def json_object_text(members: dict[str, ir.StringValue]) -> ir.StringValue:
    """The text of a JSON object of the members whose value is not null, in the order given,
    each value a JSON string; null when every value is (a null member carries nothing)."""
    first = next(iter(members.values()))
    return _pick(_OBJECT_TEXT, first, "json_object_text")(members)


_IS_JSON_OBJECT = {
    "duckdb": lambda doc: strip(doc).startswith("{") & doc.try_cast(dt.json).notnull(),
    "pyspark": lambda doc: strip(doc).startswith("{") & _from_json(doc, "map<string,string>").notnull(),
}


def is_json_object(doc: ir.StringValue) -> ir.BooleanValue:
    """Whether text is a serialised JSON object."""
    return _pick(_IS_JSON_OBJECT, doc, "is_json_object")(doc)


_BACKREFERENCE = {"duckdb": lambda r: r, "pyspark": lambda r: re.sub(r"\\(\d)", r"$\1", r)}


def re_replace(value: ir.StringValue, regex: str, replacement: str) -> ir.StringValue:
    r"""Replace with back-references written `\1` (Java's regex engine writes them `$1`)."""
    return value.re_replace(regex, _pick(_BACKREFERENCE, value, "re_replace")(replacement))


_STRIP = {
    "duckdb": lambda v: v.strip(),
    # Ibis 12 writes Spark's TRIM with escapes Spark SQL does not read (it would cut v and f too)
    "pyspark": lambda v: v.re_replace(r"^\s+|\s+$", ""),
}


def strip(value: ir.StringValue) -> ir.StringValue:
    """Without leading and trailing white space."""
    return _pick(_STRIP, value, "strip")(value)


def iso_utc(value: ir.TimestampValue) -> ir.StringValue:
    """A UTC timestamp as ISO 8601 text, `2025-01-01T00:00:00Z`: built from a date and a
    time part, as Spark's formatter takes a bare T in its pattern for a pattern letter."""
    return value.strftime("%Y-%m-%d") + "T" + value.strftime("%H:%M:%S") + "Z"
