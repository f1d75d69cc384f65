"""What ingest rounded away: per file and column, the rows rounded past the ledger's 18th
decimal place and the exact sum of their residues, so that the ledger's total plus the
residue is the source's total to its last digit.

Each rounded row keeps the source text of its rounded values in `x_extensions`
(`x_rounded_from`); when the ingest is recorded, the residues (source value - stored value)
are computed from that text by the same rule that rounded it (`normalize.to_decimal_rounded`)
and summed as decimals of 38 fractional places, which hold any residue and the sum of up
to 10**18 of them exactly. The rule's rounding costs the ingest of a file without long
decimals nothing beyond a test per column: the residues' work runs only on rounded rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal

import ibis.expr.types as ir

from computeledger.ingest.normalize import RESIDUE, ROUNDED_FROM, to_decimal_rounded, with_plain_text
from computeledger.portable import json_field


def residue_totals(
    rows: ir.Table, columns: Sequence[str], by: str | None = None, extensions: str = "x_extensions"
) -> dict:
    """Value of `by` (None without one) -> column -> {"rows": n, "residue": "exact decimal
    text"}, for each column of `columns` that ingest rounded on some row of `rows` (whose
    `extensions` column holds the source text under ROUNDED_FROM). One aggregate per
    column, over the rows rounded in it only (the residue's expression is large: one query
    for many columns grows faster than their number), grouped by `by` (the files of a
    group, by ingest id: the group compiles it once, not once a file)."""
    froms = json_field(rows[extensions], ROUNDED_FROM)
    out: dict = {}
    for name in columns:
        source = json_field(froms, name)
        keys = {"cl_by": rows[by]} if by else {}
        marked = rows.filter(source.notnull()).select(cl_src=source, **keys)
        marked = with_plain_text(marked, {"cl_src": "cl_plain"})
        for key, got in _sums(marked, to_decimal_rounded(marked.cl_plain).residue, by is not None).items():
            out.setdefault(key, {})[name] = got
    return out


def _sums(rows: ir.Table, residue: ir.StringValue, grouped: bool) -> dict:
    """{group (None when not grouped): {"rows": n, "residue": exact text}} where n > 0."""
    value = residue.cast(RESIDUE)
    metrics = {"n": value.notnull().sum(), "r": value.sum()}
    table = rows.group_by("cl_by").aggregate(**metrics) if grouped else rows.aggregate(**metrics)
    out = {}
    for got in table.to_pyarrow().to_pylist():
        if got["n"]:
            out[got.get("cl_by")] = {"rows": int(got["n"]), "residue": plain(got["r"])}
    return out


def residue_sums(rows: ir.Table, residues: Mapping[str, ir.StringValue]) -> dict:
    """Column -> {"rows": n, "residue": exact text} over `rows`, for each column whose
    residue expression (plain decimal text, null where nothing was rounded) is set on some
    row; one aggregate."""
    if not residues:
        return {}
    metrics = {}
    for i, text in enumerate(residues.values()):
        value = text.cast(RESIDUE)
        metrics[f"n{i}"], metrics[f"r{i}"] = value.notnull().sum(), value.sum()
    got = rows.aggregate(**metrics).to_pyarrow().to_pylist()[0]
    return {name: {"rows": int(got[f"n{i}"]), "residue": plain(got[f"r{i}"])}
            for i, name in enumerate(residues) if got[f"n{i}"]}  # fmt: skip


def plain(value: Decimal) -> str:
    """A decimal as plain text without trailing zeros (never E notation)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def as_json(totals: dict) -> str | None:
    """The totals as the JSON text the `ingests` table keeps (null when nothing was rounded)."""
    return json.dumps(totals, sort_keys=True) if totals else None
