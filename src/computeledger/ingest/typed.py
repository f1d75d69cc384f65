"""Text columns to typed fields with reasons: the reader of every non-FOCUS table
(invoices, payments, revenue-share statements, usage CSV), one Ibis expression.

A field is text, a decimal (exact, the ledger's 18 places), an integer or a date. A value
that cannot be read gives the row a reason naming the column and the value; a required
field left empty does too. The row as read is kept as JSON for the quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from computeledger.ingest.normalize import (
    MOVED_FLAG,
    RAW,
    REASON,
    ROUNDED_FLAG,
    ROW,
    decimal_problem,
    moved_month,
    nullish,
    rounding_parts,
    to_datetime,
    to_decimal_rounded,
    with_plain_text,
    with_rounding_layers,
)
from computeledger.portable import strip
from computeledger.schema.tables import NUMBER


@dataclass(frozen=True)
class Field:
    """A column of a table read from text: its name, kind and whether it must have a value."""

    name: str
    kind: str = "text"  # text, decimal, integer, date, time (a UTC timestamp)
    required: bool = False
    aliases: tuple[str, ...] = ()  # other names a file may give it (matched without case)


def match_columns(columns: list[str], fields: list[Field]) -> dict[str, str]:
    """Field name -> the file's column holding it (exact, then case-insensitive, then aliases)."""
    lower = {c.strip().lower().lstrip("\ufeff"): c for c in columns}
    out = {}
    for f in fields:
        for name in (f.name, *f.aliases):
            if name in columns:
                out[f.name] = name
                break
            if name.lower() in lower:
                out[f.name] = lower[name.lower()]
                break
    return out


def _shown(v: ir.StringValue) -> ir.StringValue:
    return "'" + ibis.ifelse(v.length() > 60, v.substr(0, 60) + "...", v) + "'"


def whole_number(name: str, v: ir.StringValue) -> tuple[ir.Value, ir.StringValue]:
    """Text to a 64-bit whole number, with the reason when it is present but not one. A
    fraction of zeros is a whole number as a spreadsheet, a dashboard export or a JSON
    double writes it ('59200.0'), if it has at most 15 digits (more, and the double that
    wrote it may have rounded it); any other fraction is not one."""
    text = strip(v)
    ok = text.re_search(r"^[+-]?(\d{1,18}|\d{1,15}\.0*)$")
    value = ibis.ifelse(ok, text.re_extract(r"^([+-]?\d+)", 1).try_cast(dt.int64), ibis.null(dt.int64))
    problem = ibis.ifelse(
        v.notnull() & ~ok, f"{name}: not a whole number: " + _shown(v), ibis.null(dt.string)
    )
    return value, problem


def _date(
    name: str, v: ir.StringValue, stamp: ir.Value, whole: bool = False
) -> tuple[ir.Value, ir.StringValue]:
    """The UTC date of `stamp` (`v` read by `to_datetime`), or `stamp` itself when `whole`
    (a `time` field), with the reason when `v` is present but no date."""
    value = stamp if whole else stamp.date()
    problem = ibis.ifelse(
        v.notnull() & value.isnull(), f"{name}: not a date: " + _shown(v), ibis.null(dt.string)
    )
    return value, problem


#: Columns `read_fields` adds beside the fields: a decimal field's residue (source - stored,
#: plain text, null unless rounded past the 18th place), and the row's rounding flags.
RESIDUE_OF = "__residue_"
FLAGS = "__flags"


def read_fields(raw: ir.Table, fields: list[Field], columns: dict[str, str]) -> ir.Table:
    """The typed fields of `raw` (text columns and ROW), with REASON (null for a usable
    row), RAW (the row as read, JSON, only on rejected rows), and for every decimal field
    its rounding residue (RESIDUE_OF + name) and the row's flags (FLAGS: rounded past the
    18th place, a date's month moved by its offset). `columns` maps a field to its column
    in `raw`; a field without one is null. Text is cleaned in a layer of
    its own, so that each check refers to it by name and the query stays small."""
    mapped = [f for f in fields if f.name in columns]
    text_of = {f.name: f"__text_{i}" for i, f in enumerate(mapped)}
    plain_of = {f.name: f"__plain_{i}" for i, f in enumerate(mapped) if f.kind == "decimal"}
    t = raw.mutate(**{text_of[f.name]: nullish(raw[columns[f.name]])[0] for f in mapped})
    t = t.mutate(**{plain_of[f.name]: strip(t[text_of[f.name]]) for f in mapped if f.kind == "decimal"})
    t = with_plain_text(t, {plain_of[name]: plain_of[name] for name in plain_of})
    t = with_rounding_layers(t, {plain_of[name]: f"{i}" for i, name in enumerate(plain_of)})
    key_of = {name: f"{i}" for i, name in enumerate(plain_of)}
    values: dict[str, ir.Value] = {}
    problems: list[ir.StringValue] = []
    residues: dict[str, ir.Value] = {}
    flags: list[ir.StringValue] = []
    for f in fields:
        if f.name not in columns:
            values[f.name] = ibis.null(_TYPES[f.kind])
            if f.required:
                problems.append(ibis.literal(f"{f.name}: missing"))
            continue
        text = t[text_of[f.name]]
        if f.kind == "decimal":
            r = to_decimal_rounded(t[plain_of[f.name]], rounding_parts(t, key_of[f.name]))
            values[f.name] = r.value
            residues[RESIDUE_OF + f.name] = ibis.ifelse(r.rounded, r.residue, ibis.null(dt.string))
            flags.append(ibis.ifelse(r.rounded, ROUNDED_FLAG + f.name, ibis.null(dt.string)))
            problems.append(decimal_problem(f.name, strip(text), t[plain_of[f.name]], r.value))
        elif f.kind == "integer":
            values[f.name], problem = whole_number(f.name, text)
            problems.append(problem)
        elif f.kind in ("date", "time"):
            stamp = to_datetime(text)
            values[f.name], problem = _date(f.name, text, stamp, whole=f.kind == "time")
            problems.append(problem)
            flags.append(ibis.ifelse(moved_month(text, stamp), MOVED_FLAG + f.name, ibis.null(dt.string)))
        else:
            values[f.name] = strip(text)
        if f.required:
            problems.append(ibis.ifelse(text.isnull(), f"{f.name}: missing", ibis.null(dt.string)))
    reason = ibis.literal("; ").join(problems).nullif("") if problems else ibis.null(dt.string)
    raw_json = ibis.struct({c: t[c] for c in raw.columns if c != ROW}).cast(dt.json).cast(dt.string)
    rejected = ibis.ifelse(reason.notnull(), raw_json, None)
    flagged = ibis.literal(";").join(flags).nullif("") if flags else ibis.null(dt.string)
    return t.select(**values, **residues, **{ROW: t[ROW], REASON: reason, RAW: rejected, FLAGS: flagged})


_TYPES = {"text": dt.string, "decimal": NUMBER, "integer": dt.int64, "date": dt.date, "time": dt.timestamp}
