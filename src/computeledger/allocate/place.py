"""Rules as Ibis expressions: each charge's dimensions, and the rule that set each one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import ibis
import ibis.expr.types as ir

from computeledger.allocate.rules import (
    UNALLOCATED,
    WORKLOADS,
    Condition,
    Rule,
    Rules,
    is_tag,
    placeholders,
)
from computeledger.errors import UsageError
from computeledger.portable import json_field, strip
from computeledger.summary import SHORTHANDS

_NULL = ibis.null().cast("string")


def column(table: ir.Table, name: str, where: str) -> ir.Value:
    """A charge column by its FOCUS name (any case) or a summary shorthand."""
    name = SHORTHANDS.get(name, name)
    lower = {c.lower(): c for c in table.columns}
    if name.lower() not in lower:
        raise UsageError(f"{where}: unknown column {name!r} (use a charge column, tags.KEY or a shorthand)")
    return table[lower[name.lower()]]


def tag_column(key: str) -> str:
    return "cl_tag_" + "".join(ch if ch.isalnum() else f"_{ord(ch):x}_" for ch in key.lower())


def tag(table: ir.Table, key: str) -> ir.StringValue:
    """A tag's value, key and value case-insensitive (lowercased); null if absent. Read
    from the column `with_tags` made, when there is one (the JSON is parsed once)."""
    name = tag_column(key)
    if name in table.columns:
        return table[name]
    return json_field(table.Tags.lower(), key.lower())


def with_tags(table: ir.Table, rules: Rules) -> ir.Table:
    """The table with one column per tag key the rules read."""
    conditions = [c for r in rules.rules for c in r.conditions] + [
        c for s in rules.splits for c in s.conditions
    ]
    refs = [ref for r in rules.rules for v in r.sets.values() for ref in placeholders(v)]
    keys = {c.column[5:].lower() for c in conditions if is_tag(c.column)}
    keys |= {ref[5:].lower() for ref in refs if is_tag(ref)}
    return table.mutate(**{tag_column(k): tag(table, k) for k in sorted(keys)}) if keys else table


def _subject(table: ir.Table, cond: Condition, where: str, dims: dict[str, ir.Value] | None) -> ir.Value:
    if is_tag(cond.column):
        return tag(table, cond.column[5:])
    if dims is not None and cond.column in dims:
        return dims[cond.column]
    return column(table, cond.column, where)


def condition(
    table: ir.Table, cond: Condition, where: str, dims: dict[str, ir.Value] | None = None
) -> ir.BooleanValue:
    value = _subject(table, cond, where, dims).cast("string")
    if cond.values is not None:  # tag values are compared lowercased, as they are read
        wanted = [v.lower() for v in cond.values] if is_tag(cond.column) else list(cond.values)
        return value.isin(wanted).fill_null(False)
    pattern = f"(?i){cond.pattern}" if is_tag(cond.column) else cond.pattern
    return value.re_search(pattern).fill_null(False)


def matches(
    table: ir.Table, conditions: Iterable[Condition], where: str, dims: dict[str, ir.Value] | None = None
) -> ir.BooleanValue:
    out = ibis.literal(True)
    for cond in conditions:
        out = out & condition(table, cond, where, dims)
    return out


def _template(table: ir.Table, rule: Rule, value: str, where: str) -> ir.StringValue:
    """A set value: a literal, or a template whose parts are tags and regex groups; null
    (nothing set) if any part is missing or empty."""
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
        if is_tag(ref):
            got = tag(table, ref[5:])
        else:
            cond = next(c for c in rule.conditions if ref in c.groups)
            got = _subject(table, cond, where, None).cast("string").re_extract(cond.pattern, cond.groups[ref])
        parts.append(strip(got).nullif(""))
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
        mapping = rule.maps.get(dim, {})
        if dim == "workload":  # one CASE: mapped, or a known workload as is; else nothing set
            known = {w: w for w in WORKLOADS if w not in mapping}
            v = v.substitute(mapping | known, else_=_NULL)
        elif mapping:
            v = v.substitute(mapping, else_=v)
        out[dim] = v
    return out


def barrier(table: ir.Table) -> ir.Table:
    """Keep the table's computed columns computed once: Ibis inlines a projection into the
    next one (repeating each expression at each use) unless it holds something impure."""
    return table.mutate(cl_barrier=ibis.random()).drop("cl_barrier")


def placed(table: ir.Table, rules: Rules) -> ir.Table:
    """The table with, in layers that each compute a thing once: tag values; per rule
    whether it matches (`cl_hit_<i>`) and what it sets (`cl_set_<i>_<dimension>`); then per
    dimension its value (`d_<dimension>`), the rule that set it (`b_<dimension>`) and that
    rule's position in the file (`i_<dimension>`, a small number to carry instead of the
    name). The first rule, in file order, that matches a charge and sets the dimension
    wins; none: 'unallocated', rule null."""
    t = barrier(with_tags(table, rules))
    layer = {}
    for i, rule in enumerate(rules.rules):
        layer[f"cl_hit_{i}"] = matches(t, rule.conditions, f"{rules.path}: rule {rule.name!r}")
        for dim, value in rule_values(t, rule, rules).items():
            layer[f"cl_set_{i}_{dim}"] = value
    t = barrier(t.mutate(**layer)) if layer else t
    out = {}
    for dim in rules.dimensions:
        # one flat CASE in file order (nested ifs would nest as deep as the rules are many)
        hits = [
            (t[f"cl_hit_{i}"] & t[f"cl_set_{i}_{dim}"].notnull(), i)
            for i, rule in enumerate(rules.rules)
            if dim in rule.sets
        ]
        if not hits:
            out[f"d_{dim}"], out[f"i_{dim}"] = ibis.literal(UNALLOCATED), ibis.null("int16")
            continue
        out[f"d_{dim}"] = ibis.cases(*((h, t[f"cl_set_{i}_{dim}"]) for h, i in hits), else_=UNALLOCATED)
        index = ((h, ibis.literal(i, "int16")) for h, i in hits)
        out[f"i_{dim}"] = ibis.cases(*index, else_=ibis.null("int16"))
    t = t.mutate(**out)
    names = {i: rule.name for i, rule in enumerate(rules.rules)}
    return t.mutate(**{f"b_{dim}": t[f"i_{dim}"].substitute(names, else_=_NULL) for dim in rules.dimensions})


def placed_by(t: ir.Table, rules: Rules) -> ir.StringValue:
    """The JSON object {dimension: the rule that set it, or null} from the `i_<dimension>`
    columns, written as text from the rules' names: much cheaper per row than building a
    JSON value."""
    names = {i: json.dumps(rule.name, ensure_ascii=False) for i, rule in enumerate(rules.rules)}
    out: ir.StringValue = ibis.literal("")
    for k, dim in enumerate(rules.dimensions):
        key = ("{" if k == 0 else ",") + json.dumps(dim, ensure_ascii=False) + ":"
        out = out.concat(key, t[f"i_{dim}"].substitute(names, else_=ibis.literal("null")))
    return out.concat("}") if rules.dimensions else ibis.literal("{}")
