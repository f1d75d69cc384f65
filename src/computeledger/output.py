"""Rendering result tables as a Rich table, CSV or JSON, with money kept exact.

Decimals are written as plain strings (no exponent, trailing zeros past the input's
digits dropped) in every format; in JSON money is a string, as a number would be
read back as a float by most consumers. Floats (estimates from physics, never money)
stay JSON numbers. Nulls stay null: unknown is never 0.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
from decimal import Decimal, localcontext
from typing import Any

import pyarrow as pa
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from computeledger import money
from computeledger.errors import UsageError

FORMATS = ("table", "csv", "json")


def decimal_text(value: Decimal) -> str:
    """Exact plain text of a decimal: '20.52022672899', '-3.00', '1000.00'."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0")
        whole, _, frac = text.partition(".")
        text = f"{whole}.{frac.ljust(2, '0')}"
    else:
        text += ".00"
    return "0.00" if text in ("-0.00",) else text


def cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(cell_text(v) or "" for v in value)
    return str(value)


def rows_of(table: pa.Table) -> tuple[list[str], list[list[Any]]]:
    return table.column_names, [list(r.values()) for r in table.to_pylist()]


def to_json(table: pa.Table) -> str:
    names, rows = rows_of(table)
    records = []
    for row in rows:
        rec = {}
        for n, v in zip(names, row, strict=True):
            if isinstance(v, list):  # a list of texts (warnings): a JSON array
                rec[n] = [cell_text(x) for x in v]
            else:
                rec[n] = v if isinstance(v, (int, bool, float)) or v is None else cell_text(v)
        records.append(rec)
    return json.dumps(records, indent=2)


#: What a spreadsheet reads as a formula at the start of a cell (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A cell as CSV text: numbers as they are; text that a spreadsheet would run as a
    formula is prefixed with a quote (JSON keeps the exact text)."""
    if value is None:
        return ""
    text = cell_text(value) or ""
    if isinstance(value, str) and text.startswith(FORMULA_START):
        return "'" + text
    return text


def to_csv(table: pa.Table) -> str:
    names, rows = rows_of(table)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([csv_cell(n) for n in names])
    for row in rows:
        w.writerow([csv_cell(v) for v in row])
    return buf.getvalue()


#: Tables on screen round decimals for reading (`--exact` shows every digit; csv and json
#: always do): money to the cent, amounts under 1 to four significant digits.
SCREEN = {"exact": False}
_LONGEST_WORD = 24  # a text column is at least this wide, or as wide as its longest word


def screen_text(value: Any, grouped: bool = True) -> str:
    """A cell as a table shows it (see SCREEN): amounts and counts with thousands
    separators (`grouped`; never an id's digits)."""
    if isinstance(value, Decimal) and not SCREEN["exact"] and value.is_finite():
        if value == 0 or abs(value) >= 1:
            text = decimal_text(value.quantize(Decimal("0.01"), rounding="ROUND_HALF_EVEN"))
            return _grouped(text) if grouped else text
        digits = value.adjusted() - 3  # four significant digits
        return decimal_text(value.quantize(Decimal(1).scaleb(digits), rounding="ROUND_HALF_EVEN"))
    if isinstance(value, Decimal) and grouped and value.is_finite():
        return _grouped(decimal_text(value))
    if isinstance(value, int) and not isinstance(value, bool) and grouped:
        return f"{value:,}"
    return cell_text(value) or ""


def _grouped(text: str) -> str:
    whole, dot, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-')):,}{dot}{frac}"


#: Numeric columns whose digits are a name, not an amount: no thousands separators.
def _is_name(column: str) -> bool:
    c = column.lower()
    return (
        c == "id"
        or c.endswith(("_id", "id", "line", "ingest", "year", "version"))
        or c in ("seed", "superseded_by")
    )


def to_rich(table: pa.Table, title: str | None = None, unknown: str = "unknown") -> Table:
    names, rows = rows_of(table)
    out = Table(title=title, show_lines=False)
    for i, (n, col) in enumerate(zip(names, table.columns, strict=True)):
        kind = col.type
        numeric = pa.types.is_decimal(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind)
        if numeric:
            # money is never cut short: a narrow terminal folds it onto more lines instead
            out.add_column(escape(n), justify="right", overflow="fold", min_width=len(n))
        else:  # words are not broken: the column is as wide as its longest word (up to a bound)
            words = [w for r in rows if r[i] is not None for w in (cell_text(r[i]) or "").split()]
            widest = min(max([len(w) for w in words] + [1]), _LONGEST_WORD)
            out.add_column(escape(n), justify="left", overflow="fold", min_width=widest)
    for row in rows:
        # values are data, never markup: "[provider=azure]" stays as written
        out.add_row(*[f"[dim]{unknown}[/dim]" if v is None else escape(screen_text(v, not _is_name(n)))
                      for n, v in zip(names, row, strict=True)])  # fmt: skip
    return out


def render(
    table: pa.Table, fmt: str, console: Console, title: str | None = None, unknown: str = "unknown"
) -> None:
    """`unknown`: what a null reads as on screen (a missing amount is unknown; a missing
    'superseded by' is simply none)."""
    if fmt == "json":
        console.out(to_json(table), highlight=False)
    elif fmt == "csv":
        console.out(to_csv(table), end="", highlight=False)
    else:
        console.print(to_rich(table, title, unknown))


def from_rows(rows: list[dict], columns: list[str] | None = None) -> pa.Table:
    """Result rows as a table: decimals as exact DECIMAL(38, 18), dates as dates, the
    column order of `columns` (or of the first row); an empty result keeps its columns."""
    names = columns or (list(rows[0]) if rows else [])
    arrays = {}
    for n in names:
        values = [r.get(n) for r in rows]
        sample = next((v for v in values if v is not None), None)
        if any(isinstance(v, Decimal) for v in values):  # estimates (floats) beside exact figures
            values = [Decimal(repr(v)) if isinstance(v, float | int) and not isinstance(v, bool) else v
                      for v in values]  # fmt: skip
            sample = Decimal(0)
        if isinstance(sample, Decimal):
            arrays[n] = pa.array([_fits(v, n) for v in values], pa.decimal128(38, 18))
        elif isinstance(sample, bool):
            arrays[n] = pa.array(values, pa.bool_())
        elif isinstance(sample, int):
            arrays[n] = pa.array(values, pa.int64())
        elif isinstance(sample, float):
            arrays[n] = pa.array([None if v is None else float(v) for v in values], pa.float64())
        elif isinstance(sample, _dt.date) and not isinstance(sample, _dt.datetime):
            arrays[n] = pa.array(values, pa.date32())
        elif isinstance(sample, list):
            arrays[n] = pa.array([None if v is None else [str(x) for x in v] for v in values],
                                 pa.list_(pa.string()))  # fmt: skip
        elif sample is None:
            arrays[n] = pa.array(values, pa.string())
        else:
            arrays[n] = pa.array([None if v is None else str(v) for v in values], pa.string())
    return pa.table(arrays) if names else pa.table({})


def _fits(value: Decimal | None, name: str) -> Decimal | None:
    """`value` as DECIMAL(38, 18) holds it: past the 18th decimal rounded (half to even);
    10^20 or more refused in one line, never a traceback. NaN is unknown."""
    if value is None or value.is_nan():
        return None
    if value.is_infinite() or value.adjusted() >= 20:
        digits = "infinite" if value.is_infinite() else value.adjusted() + 1
        raise UsageError(
            f"{name}: a figure of {digits} digits is past the range the ledger prints (under 10^20)"
        )
    if value.as_tuple().exponent < -18:
        with localcontext(money.CONTEXT):
            value = value.quantize(Decimal(1).scaleb(-18))
    return value


def for_screen(table: pa.Table, places: dict[str, int], default: int = 2) -> pa.Table:
    """Decimals rounded for reading (money to the cent; `places` for others): the table
    shown on screen. CSV and JSON keep every digit."""
    columns = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_decimal(col.type):
            q = Decimal(1).scaleb(-places.get(name, default))
            columns[name] = pa.array(
                [None if v is None else v.quantize(q) for v in col.to_pylist()], pa.decimal128(38, 18)
            )
        else:
            columns[name] = col
    return pa.table(columns)
