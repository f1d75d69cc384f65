"""JSON in text columns, regex back-references and trimming, the same on every backend.

Ibis casts text to JSON on DuckDB; Spark has no JSON type and reads JSON text with its
own functions. Each helper picks by the backend the expression runs on, so the ledger's
rules stay one set of Ibis expressions.
"""

from __future__ import annotations

import re

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir


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


def backend_name(expr: ir.Expr) -> str:
    try:
        return expr._find_backend(use_default=True).name
    except Exception:  # an expression of literals only
        return "duckdb"


def on_spark(expr: ir.Expr) -> bool:
    return backend_name(expr) == "pyspark"


def json_field(doc: ir.StringValue, key: str) -> ir.StringValue:
    """`doc`'s top-level `key` as text (a number as its digits, an object or array as its
    JSON), null if absent, JSON null, or `doc` is not JSON. On DuckDB the text is parsed
    by the JSON functions directly, twice as fast as through a cast to JSON."""
    if on_spark(doc):
        escaped = key.replace("\\", "\\\\").replace("'", "\\'")
        return _get_json_object(doc, f"$['{escaped}']")
    pointer = "/" + key.replace("~", "~0").replace("/", "~1")  # RFC 6901: any key, verbatim
    return ibis.ifelse(_json_valid(doc), _json_extract_string(doc, pointer), ibis.null("string"))


def is_json_object(doc: ir.StringValue) -> ir.BooleanValue:
    """Whether text is a serialised JSON object."""
    if on_spark(doc):
        return strip(doc).startswith("{") & _from_json(doc, "map<string,string>").notnull()
    return strip(doc).startswith("{") & doc.try_cast(dt.json).notnull()


def cached(table: ir.Table) -> ir.Table:
    """The table computed once and kept for the rest of the work. On Spark the in-memory
    tables it reads are registered first (Ibis's cache does not)."""
    if on_spark(table):
        table._find_backend()._run_pre_execute_hooks(table)
    return table.cache()


def re_replace(value: ir.StringValue, regex: str, replacement: str) -> ir.StringValue:
    r"""Replace with back-references written `\1`; Java's regex engine writes them `$1`."""
    if on_spark(value):
        replacement = re.sub(r"\\(\d)", r"$\1", replacement)
    return value.re_replace(regex, replacement)


def strip(value: ir.StringValue) -> ir.StringValue:
    """Without leading and trailing white space. (Ibis 12 writes Spark's TRIM with escapes
    Spark SQL does not read, so there it would cut the letters v and f too.)"""
    if on_spark(value):
        return value.re_replace(r"^\s+|\s+$", "")
    return value.strip()
