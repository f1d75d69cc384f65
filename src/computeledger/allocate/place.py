"""Rules as Ibis expressions: each charge's dimensions, and the rule that set each one."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from computeledger.allocate.rules import UNALLOCATED, WORKLOADS, Condition, Rule, Rules
from computeledger.errors import UsageError
from computeledger.summary import SHORTHANDS

_NULL = ibis.null().cast("string")


def column(table: ir.Table, name: str, where: str) -> ir.Value:
    """A charge column by its FOCUS name (any case) or a summary shorthand."""
    name = SHORTHANDS.get(name, name)
    lower = {c.lower(): c for c in table.columns}
    if name.lower() not in lower:
        raise UsageError(f"{where}: unknown column {name!r} (use a charge column, tags.KEY or a shorthand)")
    return table[lower[name.lower()]]


def tag(table: ir.Table, key: str) -> ir.StringValue:
    """A tag's value, key and value case-insensitive (lowercased); null if absent."""
    return table.Tags.lower().cast("json")[key.lower()].str


def _subject(table: ir.Table, cond: Condition, where: str, dims: dict[str, ir.Value] | None) -> ir.Value:
    if cond.column.lower().startswith("tags."):
        return tag(table, cond.column[5:])
    if dims is not None and cond.column in dims:
        return dims[cond.column]
    return column(table, cond.column, where)


def condition(table: ir.Table, cond: Condition, where: str, dims: dict | None = None) -> ir.BooleanValue:
    value = _subject(table, cond, where, dims).cast("string")
    if cond.values is not None:
        hit = value.isin(list(cond.values))
        if cond.column.lower().startswith("tags."):
            hit = value.isin([v.lower() for v in cond.values])
        return hit.fill_null(False)
    pattern = cond.pattern if not cond.column.lower().startswith("tags.") else f"(?i){cond.pattern}"
    return value.re_search(pattern).fill_null(False)


def matches(table: ir.Table, conditions, where: str, dims: dict | None = None) -> ir.BooleanValue:
    out = ibis.literal(True)
    for cond in conditions:
        out = out & condition(table, cond, where, dims)
    return out


def _template(table: ir.Table, rule: Rule, value: str, where: str) -> ir.StringValue:
    """A set value: a literal, or a template whose parts are tags and regex groups; null
    (nothing set) if any part is missing or empty."""
    import re

    pieces = re.split(r"(\{[^{}]*\})", value)
    if len(pieces) == 1:
        return ibis.literal(value)
    parts = []
    for piece in pieces:
        if not (piece.startswith("{") and piece.endswith("}")):
            if piece:
                parts.append(ibis.literal(piece))
            continue
        ref = piece[1:-1]
        if ref.startswith("tags."):
            got = tag(table, ref[5:])
        else:
            cond = next(c for c in rule.conditions if ref in c.groups)
            got = _subject(table, cond, where, None).cast("string").re_extract(cond.pattern, cond.groups[ref])
        parts.append(got.strip().nullif(""))
    out = parts[0]
    for p in parts[1:]:
        out = out.concat(p)
    return out.lower()


def rule_values(table: ir.Table, rule: Rule, rules: Rules) -> dict[str, ir.StringValue]:
    """What the rule sets on a charge it matches, per dimension (null: not set)."""
    where = f"{rules.path}: rule {rule.name!r}"
    out = {}
    for dim, value in rule.sets.items():
        v = _template(table, rule, value, where)
        for source, target in rule.maps.get(dim, {}).items():
            v = ibis.ifelse(v == source, ibis.literal(target), v)
        if dim == "workload":
            v = ibis.ifelse(v.isin(list(WORKLOADS)), v, _NULL)  # an unknown workload sets nothing
        out[dim] = v
    return out


def placements(charges: ir.Table, rules: Rules) -> dict[str, tuple[ir.StringValue, ir.StringValue]]:
    """Per dimension: (value, rule that set it). The first rule, in file order, that matches
    a charge and sets the dimension wins; no rule: 'unallocated', rule null."""
    out = {}
    hits = [
        (
            rule,
            matches(charges, rule.conditions, f"{rules.path}: rule {rule.name!r}"),
            rule_values(charges, rule, rules),
        )
        for rule in rules.rules
    ]
    for dim in rules.dimensions:
        value, by = ibis.literal(UNALLOCATED), _NULL
        for rule, hit, values in reversed(hits):
            if dim not in values:
                continue
            placed = hit & values[dim].notnull()
            value = ibis.ifelse(placed, values[dim], value)
            by = ibis.ifelse(placed, ibis.literal(rule.name), by)
        out[dim] = (value, by)
    return out
