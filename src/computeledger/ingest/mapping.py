"""Mapped import: any billing CSV to FOCUS charges through a declarative TOML mapping.

```toml
name = "gpu-cloud-invoice"
[constants]            # FOCUS column = fixed text
ServiceProviderName = "CoreWeave"
[columns]              # FOCUS column = source column
BillingAccountId = "account_id"
[values.PricingUnit]   # source value = FOCUS value (of a column or an expression)
hr = "Hours"
[expressions]          # FOCUS column = expression over source columns
BilledCost = "gpu_hours * rate_usd"
x_GpuCount = "gpu_count(instance_type)"
[gpu]
catalog = "my_gpus.csv"   # optional: extends the built-in GPU catalogue
[defaults]             # for a value-mapped column: what a value the map lacks (or empty) becomes
ServiceCategory = "Other"
[source]
names = "snake"        # match the file's columns by their snake_case form (see `snake`)
optional = ["tags"]    # columns a file may lack: read as empty
one_of = [["cost", "cost_in_billing_currency"]]  # at least one of each list is present
[dates]                # a date column's value, moved: day_after (the source gives the last
ChargePeriodEnd = "day_after"  # day included), month_start, next_month_start
[detect]               # a file whose columns include all these is read by this mapping
columns = ["bill_payer_account_id", "line_item_line_item_type"]  # when no other is named
any = [["line_item_unblended_cost", "line_item_net_unblended_cost"]]  # and one of each list
[unnest.credits]       # each element of the JSON list in column `credits` is a charge of
fields = ["amount", "type"]  # its own: its objects' fields read as credits.amount, ...
[unnest.credits.constants]   # and its targets replace the mapping's on those charges
ChargeCategory = "Credit"
[unnest.credits.expressions]
BilledCost = "credits_amount"   # (under names = "snake"; else "credits.amount", quoted)
```

`extends = "azure-cost-details"` starts a mapping from another's sections (its own
entries replace the base's, column by column; [detect] is not inherited).

The mapping is data: expressions are parsed by sqlglot and may only use columns of the
file, literals, arithmetic, comparisons, CASE and a short list of functions (plus
`gpu_count`/`gpu_model`, looked up in the GPU catalogue; `split_part`, and `json_object`
built as text both engines write alike, see `json_text`). Arithmetic is exact: each
numeric operand is read as a decimal with exactly the digits the file has. The mapped rows
then go through the same FOCUS rules, quarantine and transaction as a FOCUS file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import ibis
import ibis.expr.types as ir
import sqlglot
import sqlglot.expressions as sge

from computeledger.catalog import gpus
from computeledger.errors import UsageError
from computeledger.schema.focus import BY_NAME
from computeledger.store.base import Staged, Store

_FUNCTIONS = {
    "ROUND", "COALESCE", "NULLIF", "UPPER", "LOWER", "TRIM", "CONCAT", "ABS", "LEAST", "GREATEST",
    "SUBSTRING", "REPLACE", "LENGTH", "SPLIT_PART", "JSON_OBJECT",
}  # fmt: skip
_NODES = (
    sge.Column, sge.Identifier, sge.Literal, sge.Null, sge.Boolean, sge.Paren, sge.Neg,
    sge.Add, sge.Sub, sge.Mul, sge.Div, sge.DPipe, sge.Case, sge.If, sge.EQ, sge.NEQ, sge.GT,
    sge.GTE, sge.LT, sge.LTE, sge.And, sge.Or, sge.Not, sge.Is, sge.In, sge.Coalesce,
    sge.Nullif, sge.Upper, sge.Lower, sge.Trim, sge.Concat, sge.Abs, sge.Round, sge.Substring,
    sge.Length, sge.Greatest, sge.Least, sge.Anonymous, sge.Tuple, sge.Like, sge.SplitPart,
    sge.JSONObject, sge.JSONKeyValue,
)  # fmt: skip
_ARITHMETIC = (sge.Add, sge.Sub, sge.Mul, sge.Div, sge.Neg)
SECTIONS = ("name", "kind", "constants", "columns", "values", "expressions", "gpu", "defaults", "source",
            "dates", "detect", "unnest")  # fmt: skip
_LOOKUPS = {"GPU_COUNT": "gpus", "GPU_MODEL": "gpu_model"}


@dataclass
class Unnest:
    """A list column whose elements become charges of their own: the JSON objects' `fields`
    are read as the columns `column.field`, and these targets replace the mapping's on the
    element charges (a GCP row's credits, each a Credit charge)."""

    column: str
    fields: list[str]
    constants: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    expressions: dict[str, sge.Expression] = field(default_factory=dict)

    def element_columns(self) -> set[str]:
        return {f"{self.column}.{f}" for f in self.fields}


@dataclass
class Mapping:
    name: str
    path: str
    sha256: str
    constants: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    expressions: dict[str, sge.Expression] = field(default_factory=dict)
    gpu_catalog: Path | None = None
    kind: str | None = None  # None: a bill (FOCUS targets); else the table kind it maps to
    defaults: dict[str, str] = field(default_factory=dict)
    names: str = "exact"  # or "snake": the file's columns are matched by `snake(name)`
    optional: set[str] = field(default_factory=set)
    one_of: list[list[str]] = field(default_factory=list)
    detect: list[str] = field(default_factory=list)
    detect_any: list[list[str]] = field(default_factory=list)  # and one column of each of these
    dates: dict[str, str] = field(default_factory=dict)
    unnest: Unnest | None = None

    def source_columns(self) -> set[str]:
        """The file's columns the mapping reads (an [unnest]'s list column and its
        element columns among them)."""
        used = set(self.columns.values())
        for expr in self.expressions.values():
            used |= {c.name for c in expr.find_all(sge.Column)}
        if self.unnest is not None:
            u = self.unnest
            used |= {u.column, *u.columns.values()}
            for expr in u.expressions.values():
                used |= {c.name for c in expr.find_all(sge.Column)}
        return used


def load_mapping(path: str | Path, targets: dict[str, set[str]] | None = None) -> Mapping:
    """Parse and check a mapping file; every error names the file and the entry. Bills map
    to FOCUS columns; a file with `kind = "..."` maps to the columns `targets` gives for
    that kind (the revenue tables). `path` may be a shipped mapping's name."""
    from computeledger.shipped import find

    path = find(path, "mappings")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the mapping: {exc.strerror}") from exc
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a TOML mapping: {exc}") from exc
    except RecursionError as exc:
        raise UsageError(f"{path}: not a TOML mapping: nested too deeply") from exc
    inherited = "extends" in doc
    if inherited:
        doc, raw = _extended(doc, raw, path)
    known = set(SECTIONS)
    extra = set(doc) - known
    if extra:
        raise UsageError(
            f"{path}: unknown section(s) {', '.join(sorted(extra))}; use {', '.join(sorted(known))}"
        )
    m = Mapping(name=str(doc.get("name", path.stem)), path=str(path), sha256=hashlib.sha256(raw).hexdigest())
    allowed: set[str] | None = None
    if "kind" in doc:
        kinds = targets or {}
        if not isinstance(doc["kind"], str) or doc["kind"] not in kinds:
            choices = ", ".join(sorted(kinds)) or "none here"
            raise UsageError(f"{path}: kind {doc['kind']!r}: use one of {choices}")
        m.kind, allowed = doc["kind"], kinds[doc["kind"]]
    _read_targets(doc, lambda section: f"{path}: [{section}]", allowed, m.kind, m)
    if not isinstance(doc.get("values", {}), dict):
        raise UsageError(f"{path}: [values] must be a table of [values.COLUMN] tables")
    for target, table in doc.get("values", {}).items():
        where = f"{path}: [values.{target}]"
        if target not in m.columns and target not in m.expressions:
            raise UsageError(
                f"{where}: value maps apply to [columns] and [expressions]; {target} is in neither"
            )
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise UsageError(f"{where}: must map source values to FOCUS values, as text")
        m.values[target] = dict(table)
    if "unnest" in doc:
        m.unnest = _unnest_section(doc["unnest"], path, allowed, m)
    _source_sections(m, doc, path, inherited)
    gpu = doc.get("gpu", {})
    if not isinstance(gpu, dict):
        raise UsageError(f"{path}: [gpu] must be a table")
    if gpu.get("catalog"):
        m.gpu_catalog = (path.parent / str(gpu["catalog"])).resolve()
        if not m.gpu_catalog.is_file():
            raise UsageError(f"{path}: [gpu] catalog: no such file {m.gpu_catalog}")
        gpus.read_catalog(m.gpu_catalog)  # fail now, naming the line
    if not (m.constants or m.columns or m.expressions):
        raise UsageError(f"{path}: the mapping maps nothing: give [columns], [expressions] or [constants]")
    _dry_run(m, path)
    if m.unnest is not None:
        _dry_run(element_mapping(m), path)
    return m


_TARGETS = ("constants", "columns", "expressions")


def _read_targets(
    doc: dict, where: Callable[[str], str], allowed: set[str] | None, kind: str | None, into: Mapping | Unnest
) -> None:
    """[constants], [columns] and [expressions] of `doc` into `into`: each target a FOCUS
    (or x_) column, or one of `allowed` for a table kind, set once, as text; expressions
    parsed. Every error names the file, the section and the entry (`where`)."""
    seen: dict[str, str] = {}
    for section in _TARGETS:
        entries = doc.get(section, {})
        if not isinstance(entries, dict):
            raise UsageError(f"{where(section)} must be a table of 'Column = \"...\"' entries")
        for target, value in entries.items():
            at = f"{where(section)} {target}"
            if allowed is not None and target not in allowed:
                raise UsageError(f"{at}: not a column of {kind} ({', '.join(sorted(allowed))})")
            if allowed is None and target not in BY_NAME and not target.startswith("x_"):
                raise UsageError(f"{at}: not a FOCUS column (custom columns start with x_)")
            if target in seen:
                raise UsageError(f"{at}: already set in [{seen[target]}]")
            if not isinstance(value, str):
                raise UsageError(f"{at}: must be a string, not {value!r}")
            seen[target] = section
            if section == "expressions":
                into.expressions[target] = _parse(value, at)
            else:
                getattr(into, section)[target] = value


def _unnest_section(section: object, path: Path, allowed: set[str] | None, m: Mapping) -> Unnest:
    """[unnest.COLUMN]: one list column, its fields, and the targets its elements' charges
    set; every error names the file and the entry."""
    if (
        not isinstance(section, dict)
        or len(section) != 1
        or not isinstance(next(iter(section.values())), dict)
    ):
        raise UsageError(f"{path}: [unnest] names one list column: [unnest.COLUMN] with fields = [...]")
    [(column, spec)] = section.items()
    where = f"{path}: [unnest.{column}]"
    extra = set(spec) - {"fields", *_TARGETS}
    if extra:
        raise UsageError(
            f"{where}: unknown entry {sorted(extra)[0]!r}; use fields, constants, columns, expressions"
        )
    fields = spec.get("fields")
    if not _texts(fields) or not fields or len(set(fields)) != len(fields):
        raise UsageError(f"{where}: fields must list the element objects' field names, each once")
    u = Unnest(column=column, fields=list(fields))
    _read_targets(spec, lambda section: f"{path}: [unnest.{column}.{section}]", allowed, m.kind, u)
    if not (u.constants or u.columns or u.expressions):
        raise UsageError(
            f"{where}: give the targets its elements' charges set ([unnest.{column}.expressions])"
        )
    return u


def element_mapping(m: Mapping) -> Mapping:
    """The mapping the element charges of its [unnest] are read through: its own targets
    with the [unnest]'s in their place (a value map stays with its target)."""
    u = m.unnest
    assert u is not None
    mine = set(u.constants) | set(u.columns) | set(u.expressions)
    keep = {k: {t: v for t, v in getattr(m, k).items() if t not in mine} for k in _TARGETS}
    targets = set(m.columns) | set(m.expressions) | set(u.columns) | set(u.expressions)
    return replace(
        m,
        constants=keep["constants"] | u.constants,
        columns=keep["columns"] | u.columns,
        expressions=keep["expressions"] | u.expressions,
        values={t: v for t, v in m.values.items() if t in targets and t not in u.constants},
        defaults={t: v for t, v in m.defaults.items() if t in targets and t not in u.constants},
        dates={t: v for t, v in m.dates.items() if t not in mine},
        unnest=None,
    )


def _extended(doc: dict, raw: bytes, path: Path) -> tuple[dict, bytes]:
    """A mapping that `extends` another (a shipped name, or a file beside it) starts from
    that one's sections: its own entries replace the base's for the same column, its value
    maps and defaults replace the base's per column; the base's [detect] is not inherited
    (a variant is named, never found). The bytes of both make its sha256."""
    from computeledger.shipped import find

    name = doc.pop("extends")
    if not isinstance(name, str):
        raise UsageError(f"{path}: extends must name a mapping, not {name!r}")
    local = path.parent / name
    base_path = local if local.is_file() else find(name, "mappings")
    try:
        base_raw = base_path.read_bytes()
        base = tomllib.loads(base_raw.decode("utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: extends {name}: cannot read it as a mapping: {exc}") from exc
    if "extends" in base:
        raise UsageError(f"{path}: extends {name}, which extends another: one level only")
    mine = {t for section in _TARGETS for t in doc.get(section, {})}
    merged = {k: v for k, v in base.items() if k not in ("detect", "name")}
    for section in _TARGETS:
        kept = {t: v for t, v in base.get(section, {}).items() if t not in mine}
        merged[section] = kept | doc.get(section, {})
    for section in ("values", "defaults", "dates"):
        merged[section] = base.get(section, {}) | doc.get(section, {})
    merged |= {k: v for k, v in doc.items() if k not in (*_TARGETS, "values", "defaults", "dates")}
    return merged, base_raw + raw


def _source_sections(m: Mapping, doc: dict, path: Path, inherited: bool = False) -> None:
    """[defaults], [source], [dates] and [detect], checked; every error names the file and
    the entry. `inherited`: the sections merge a base's (`extends`), whose source columns
    and date rules the variant's own entries may have made moot."""
    defaults = doc.get("defaults", {})
    if not isinstance(defaults, dict):
        raise UsageError(f"{path}: [defaults] must be a table of 'Column = \"value\"' entries")
    for target, value in defaults.items():
        if target not in m.values:
            raise UsageError(f"{path}: [defaults] {target}: defaults apply to columns with [values.{target}]")
        if not isinstance(value, str):
            raise UsageError(f"{path}: [defaults] {target}: must be a string, not {value!r}")
        m.defaults[target] = value
    source = doc.get("source", {})
    if not isinstance(source, dict) or set(source) - {"names", "optional", "one_of"}:
        raise UsageError(f"{path}: [source] takes names, optional and one_of")
    names = source.get("names", "exact")
    if names not in ("exact", "snake"):
        raise UsageError(f'{path}: [source] names = {names!r}: use "exact" or "snake"')
    m.names = names
    used = m.source_columns()
    optional = source.get("optional", [])
    if not _texts(optional):
        raise UsageError(f"{path}: [source] optional must be a list of column names")
    m.optional = set(optional)
    one_of = source.get("one_of", [])
    if not isinstance(one_of, list) or not all(_texts(group) and group for group in one_of):
        raise UsageError(f"{path}: [source] one_of must be a list of lists of column names")
    m.one_of = [list(group) for group in one_of]
    if inherited:  # what the base read and the variant's own entries no longer do is dropped
        m.optional &= used
        m.one_of = [kept for group in m.one_of if (kept := [c for c in group if c in used])]
    for name in sorted(m.optional | {c for group in m.one_of for c in group}):
        if name not in used:
            raise UsageError(f"{path}: [source] {name}: the mapping does not read this column")
    dates = doc.get("dates", {})
    if not isinstance(dates, dict):
        raise UsageError(f"{path}: [dates] must be a table of 'Column = \"rule\"' entries")
    for target, rule in dates.items():
        if rule not in DATE_RULES:
            raise UsageError(f"{path}: [dates] {target} = {rule!r}: use one of {', '.join(DATE_RULES)}")
        if target not in m.columns and target not in m.expressions:
            if inherited:
                continue
            raise UsageError(f"{path}: [dates] {target}: not set in [columns] or [expressions]")
        m.dates[target] = rule
    detect = doc.get("detect", {})
    groups = detect.get("any", []) if isinstance(detect, dict) else None
    if (
        not isinstance(detect, dict) or set(detect) - {"columns", "any"}
        or not _texts(detect.get("columns", []))
        or not isinstance(groups, list) or not all(_texts(g) and g for g in groups)
    ):  # fmt: skip
        raise UsageError(
            f"{path}: [detect] takes columns, a list of column names, and any, a list of lists of them"
        )
    m.detect = list(detect.get("columns", []))
    m.detect_any = [list(g) for g in groups]


#: How [dates] moves a date: from the parsed value to the value FOCUS wants.
DATE_RULES = ("day_after", "month_start", "next_month_start")


def _moved(v: ir.StringValue, rule: str) -> ir.StringValue:
    """A date's text moved by a [dates] rule, as ISO 8601 in UTC; text the FOCUS rules
    cannot read as a date is left as it is (they then refuse its row, naming it)."""
    from computeledger.ingest.normalize import to_datetime
    from computeledger.portable import iso_utc

    ts = to_datetime(v)
    if rule == "day_after":
        moved = ts + ibis.interval(days=1)
    elif rule == "month_start":
        moved = ts.truncate("M")
    else:
        moved = ts.truncate("M") + ibis.interval(months=1)
    return ibis.ifelse(ts.notnull(), iso_utc(moved), v)


def _texts(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def snake(name: str) -> str:
    """A column name in snake_case, the way AWS spells CUR columns in Athena and CUR 2.0
    (`lineItem/UnblendedCost` -> line_item_unblended_cost, `savingsPlan/SavingsPlanARN`
    -> savings_plan_savings_plan_a_r_n) and Azure's EA and MCA spellings meet
    (`CostInBillingCurrency`, `costInBillingCurrency` -> cost_in_billing_currency)."""
    text = re.sub(r"(?<!^)(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def resolve(mapping: Mapping, columns: list[str]) -> tuple[Mapping, list[str]]:
    """The mapping with its source names spelt as the file spells them, and the optional
    columns the file lacks (to be read as empty). Refuses (MappingMismatch) a file lacking
    a required column, or none of a `one_of` list, or, under snake names, with two columns
    of one snake name."""
    if mapping.names == "snake":
        spelt: dict[str, str] = {}
        for c in columns:
            key = snake(c)
            if key in spelt:
                raise MappingMismatch(
                    f"mapping {mapping.name}: columns {spelt[key]!r} and {c!r} are one column to it ({key})"
                )
            spelt[key] = c
        rename = {name: spelt.get(snake(name), name) for name in mapping.source_columns()}
    else:
        rename = {name: name for name in mapping.source_columns()}
    have = set(columns)
    for group in mapping.one_of:
        if not any(rename.get(c, c) in have for c in group):
            raise MappingMismatch(
                f"mapping {mapping.name} ({mapping.path}) needs one of these columns, and the file has none: "
                + ", ".join(group)
            )
    absent = sorted(
        name for name, spelt_as in rename.items()
        if spelt_as not in have and (name in mapping.optional or any(name in g for g in mapping.one_of))
    )  # fmt: skip
    if not any(rename[n] != n for n in rename):
        return mapping, absent

    def renamed(node: sge.Expression) -> sge.Expression:
        if isinstance(node, sge.Column):
            return sge.column(rename.get(node.name, node.name), quoted=True)
        return node

    out = replace(
        mapping,
        columns={t: rename[s] for t, s in mapping.columns.items()},
        expressions={t: e.copy().transform(renamed) for t, e in mapping.expressions.items()},
        optional={rename.get(n, n) for n in mapping.optional},
        one_of=[[rename.get(n, n) for n in g] for g in mapping.one_of],
    )
    return out, absent


def detect(columns: list[str]) -> Mapping | None:
    """The shipped mapping whose [detect] columns the file has (native cloud exports: AWS
    CUR, Azure cost details, OCI cost reports), or None. Only the [detect] lists are read
    for a FOCUS file; a mapping is loaded (and checked) when a file matches it."""
    keys = {snake(c) for c in columns}
    for path, needed, groups in _signatures():
        if needed <= keys and all(g & keys for g in groups):
            return _native(path)
    return None


@functools.cache
def _signatures() -> tuple[tuple[Path, frozenset[str], tuple[frozenset[str], ...]], ...]:
    """(path, snake_case [detect] columns, its `any` groups) of each shipped mapping that
    has them."""
    from computeledger.shipped import shipped

    out = []
    for _, _, path in shipped("mappings"):
        text = path.read_text(encoding="utf-8")
        if "\n[detect]" in text:
            detect = tomllib.loads(text).get("detect", {})
            groups = tuple(frozenset(snake(c) for c in g) for g in detect.get("any", []))
            out.append((path, frozenset(snake(c) for c in detect.get("columns", [])), groups))
    return tuple(out)


@functools.cache
def _native(path: Path) -> Mapping:
    return load_mapping(path)


def _dry_run(m: Mapping, path) -> None:
    """Compute every expression over an empty file of text columns: what the whitelist lets
    through but the engine cannot bind (ROUND of text, say) is refused now, naming it."""
    from computeledger.ingest.normalize import ROW
    from computeledger.store import select_problem

    columns = sorted(m.source_columns())
    scales = dict.fromkeys(numeric_operands(m), 6)
    empty = ", ".join(
        [f'CAST(NULL AS VARCHAR) AS "{c.replace(chr(34), chr(34) * 2)}"' for c in columns] + [f'0 AS "{ROW}"']
    )

    def alone(target: str, expr: sge.Expression) -> Mapping:  # one expression, nothing else mapped
        return Mapping(name=m.name, path=m.path, sha256=m.sha256, expressions={target: expr},
                       gpu_catalog=m.gpu_catalog)  # fmt: skip

    selects = [
        mapped_select(alone(t, e), columns, scales, ROW).sql("duckdb") + f" FROM (SELECT {empty})"
        for t, e in m.expressions.items()
    ]
    found = select_problem(selects)
    if found is not None:
        target, expr = list(m.expressions.items())[found[0]]
        raise UsageError(
            f"{path}: [expressions] {target} = {expr.sql('duckdb')!r} cannot be computed over the file's "
            f"text columns: {found[1]}"
        )


def _parse(text: str, where: str) -> sge.Expression:
    depth = _nesting(text)
    if len(text) > MAX_EXPRESSION or depth > MAX_NESTING:
        raise UsageError(
            f"{where}: an expression is at most {MAX_EXPRESSION} characters and {MAX_NESTING} parentheses "
            f"deep ({len(text)} characters, {depth} deep)"
        )
    try:
        expr = sqlglot.parse_one(text, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise UsageError(f"{where}: cannot parse {text!r}: {str(exc).splitlines()[0]}") from exc
    for node in expr.walk():
        if not isinstance(node, _NODES):
            what = (
                f"function {node.sql_name().lower()}"
                if isinstance(node, sge.Func)
                else type(node).__name__.lower()
            )
            raise UsageError(f"{where}: {what} is not allowed in a mapping: {text!r}")
        if isinstance(node, sge.Anonymous):
            name = str(node.this).upper()
            if name not in _FUNCTIONS and name not in _LOOKUPS:
                allowed = ", ".join(sorted(n.lower() for n in _FUNCTIONS | set(_LOOKUPS)))
                raise UsageError(f"{where}: function {name.lower()} is not allowed (allowed: {allowed})")
        if isinstance(node, sge.Column) and node.table:
            raise UsageError(f"{where}: columns are plain names of the file, not {node.sql()!r}")
        if isinstance(node, sge.JSONObject) and (
            any(node.args.get(a) for a in ("null_handling", "unique_keys", "return_type", "encoding"))
            or not all(
                isinstance(kv, sge.JSONKeyValue) and isinstance(kv.this, sge.Literal) and kv.this.is_string
                for kv in node.expressions
            )
        ):
            raise UsageError(f"{where}: json_object takes 'key', value pairs, each key quoted text: {text!r}")
        if isinstance(node, sge.Div) and _power_of_ten(node.expression) is None:
            raise UsageError(
                f"{where}: division is exact only by a power of ten (e.g. amount / 100): {text!r}"
            )
    operators = sum(1 for _ in expr.find_all(*_ARITHMETIC))
    if operators > MAX_OPERATORS:
        raise UsageError(f"{where}: at most {MAX_OPERATORS} arithmetic operators an expression ({operators})")
    return expr


MAX_EXPRESSION = 2000
MAX_NESTING = 12
MAX_OPERATORS = 32  # each is checked against the ledger's range on its leaves: quadratic


def _nesting(text: str) -> int:
    """How deep the parentheses of `text` go (outside quoted text)."""
    depth = deepest = 0
    quote = None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


def _power_of_ten(node: sge.Expression) -> int | None:
    """The exponent n of a literal divisor 10**n, else None."""
    if not isinstance(node, sge.Literal) or node.is_string:
        return None
    text = node.this.strip()
    if not text.isdigit() or text[0] != "1" or set(text[1:]) - {"0"}:
        return None
    return len(text) - 1 if len(text) <= 19 else None


def mapped_select(
    mapping: Mapping, columns: list[str], scales: dict[str, int], row: str, own: list[str] | None = None
) -> sge.Select:
    """SELECT over the staged file giving FOCUS-named text columns, then the file's own
    columns (`own`, default `columns`) as x_ extensions. `scales`: fractional digits of
    each numeric operand."""
    missing = sorted(mapping.source_columns() - set(columns))
    if missing:
        raise MappingMismatch(
            f"mapping {mapping.name} ({mapping.path}) names column(s) the file lacks: {', '.join(missing)}"
        )
    table = gpus.catalog(mapping.gpu_catalog)
    out: list[sge.Expression] = [sge.column(row, quoted=True)]
    for target, value in mapping.constants.items():
        constant = (
            sge.convert(value) if value != "" else sge.Cast(this=sge.Null(), to=sge.DataType.build("VARCHAR"))
        )
        out.append(sge.alias_(constant, target, quoted=True))
    for target, source in mapping.columns.items():
        col: sge.Expression = _value_map(mapping, target, sge.column(source, quoted=True))
        out.append(sge.alias_(col, target, quoted=True))
    varchar = sge.DataType.build("VARCHAR")
    for target, expr in mapping.expressions.items():
        checks: list[tuple[sge.Expression, str]] = []
        resolved = _resolve(_text_branches(expr.copy()), scales, table, checks)
        text: sge.Expression = _value_map(mapping, target, sge.Cast(this=resolved, to=varchar))
        # a result the ledger cannot hold exactly: the FOCUS rules refuse the row with this text
        for fits, what in reversed(checks):
            failed = sge.Not(this=sge.Paren(this=fits))
            text = sge.Case(ifs=[sge.If(this=failed, true=sge.convert(what))], default=text)
        # a non-numeric operand: the FOCUS rules then refuse the row, naming it and its value
        for name in sorted(_operands(expr) & set(scales)):
            col = sge.column(name, quoted=True)
            plain = sge.RegexpLike(this=col.copy(), expression=sge.convert(PLAIN))
            too_fine = sge.RegexpLike(this=col.copy(), expression=sge.convert(rf"\.\d{{{SCALE + 1},}}"))
            unreadable = sge.TryCast(this=col.copy(), to=sge.DataType.build(f"DECIMAL(38, {scales[name]})"))
            bad = sge.and_(
                col.is_(sge.Null()).not_(),
                sge.or_(sge.Not(this=plain), too_fine, unreadable.is_(sge.Null())),
            )
            shown = sge.DPipe(this=sge.convert(f"{name}="), expression=col)
            text = sge.Case(ifs=[sge.If(this=bad, true=shown)], default=text)
        out.append(sge.alias_(text, target, quoted=True))
    taken = {e.alias for e in out[1:]}
    for c in columns if own is None else own:
        name = c if c.startswith("x_") else f"x_{c}"
        if name not in taken:
            out.append(sge.alias_(sge.column(c, quoted=True), name, quoted=True))
    return sge.select(*out)


def _value_map(mapping: Mapping, target: str, value: sge.Expression) -> sge.Expression:
    """`value` through the target's [values] map (and [defaults]), if it has one."""
    if target not in mapping.values:
        return value
    ifs = [sge.If(this=sge.convert(k), true=sge.convert(v)) for k, v in mapping.values[target].items()]
    default = sge.convert(mapping.defaults[target]) if target in mapping.defaults else value.copy()
    return sge.Case(this=value, ifs=ifs, default=default)


def _text_branches(expr: sge.Expression) -> sge.Expression:
    """Each result of the mapping's own CASE and IF read as text, so that a branch of
    arithmetic (exact decimals) and a branch naming a text column can meet."""
    varchar = sge.DataType.build("VARCHAR")
    for case in list(expr.find_all(sge.Case)):
        for branch in case.args.get("ifs") or []:
            branch.set("true", sge.Cast(this=branch.args["true"], to=varchar.copy()))
        if case.args.get("default") is not None:
            case.set("default", sge.Cast(this=case.args["default"], to=varchar.copy()))
    return expr


class MappingMismatch(Exception):
    """The file does not have what the mapping reads."""


def numeric_operands(mapping: Mapping) -> set[str]:
    """Source columns used in arithmetic: read as exact decimals."""
    return set().union(*(_operands(e) for e in mapping.expressions.values()))


def _operands(expr: sge.Expression) -> set[str]:
    names = set()
    for node in expr.find_all(*_ARITHMETIC):
        for side in (node.args.get("this"), node.args.get("expression")):
            if isinstance(side, sge.Column):
                names.add(side.name)
    return names


def _resolve(
    expr: sge.Expression, scales: dict[str, int], table, checks: list[tuple[sge.Expression, str]]
) -> sge.Expression:
    """Catalogue lookups inlined; columns quoted, and read as exact decimals in arithmetic.
    Products and sums are computed only where they are exact (see `_guarded`); each guard
    joins `checks` with the reason a failing row is quarantined for."""

    def operand(side: sge.Expression) -> sge.Expression:
        if isinstance(side, sge.Column) and side.name in scales:
            return _decimal(side.name, scales)
        return side.transform(visit)

    def visit(node: sge.Expression) -> sge.Expression:
        if isinstance(node, (sge.Mul, sge.Add, sge.Sub, sge.Div)):
            return _guarded(node, operand(node.this), operand(node.expression), scales, operand, checks)
        if isinstance(node, sge.Anonymous) and str(node.this).upper() in _LOOKUPS:
            return _lookup(node, _LOOKUPS[str(node.this).upper()], table)
        if isinstance(node, sge.JSONObject):
            return json_text([(kv.this.this, kv.expression.transform(visit)) for kv in node.expressions])
        if isinstance(node, sge.Column):
            if node.name in scales and isinstance(node.parent, (*_ARITHMETIC, sge.Paren)):
                return _decimal(node.name, scales)
            return sge.column(node.name, quoted=True)
        return node

    return expr.transform(visit)


def json_text(members: list[tuple[str, sge.Expression]]) -> sge.Expression:
    """A JSON object's text built from its members in SQL both engines read alike: a
    member whose value is null is left out, an object with no member is null, every value
    is a JSON string (quotes, backslashes and line breaks escaped), members in the order
    given. (DuckDB's json_object and Spark's to_json differ in nulls and spacing.)"""
    varchar = sge.DataType.build("VARCHAR")
    parts: list[sge.Expression] = []
    for key, value in members:
        text: sge.Expression = sge.Cast(this=value, to=varchar.copy())
        for raw, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
            text = sge.Replace(this=text, expression=sge.convert(raw), replacement=sge.convert(escaped))
        member = sge.DPipe(
            this=sge.DPipe(this=sge.convert(f', {json.dumps(key)}: "'), expression=text),
            expression=sge.convert('"'),
        )
        parts.append(sge.Coalesce(this=member, expressions=[sge.convert("")]))
    joined = parts[0] if parts else sge.convert("")
    for part in parts[1:]:
        joined = sge.DPipe(this=joined, expression=part)
    inner = sge.Substring(this=joined, start=sge.convert(3))
    whole = sge.DPipe(this=sge.DPipe(this=sge.convert("{"), expression=inner), expression=sge.convert("}"))
    return sge.Nullif(this=whole, expression=sge.convert("{}"))


SCALE = 18  # the ledger's decimal places
#: An operand of mapped arithmetic: a plain decimal (no exponent, no digit separators).
PLAIN = r"^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$"
RANGE = 10**20  # and its magnitude


def _decimal(name: str, scales: dict[str, int]) -> sge.Expression:
    to = sge.DataType.build(f"DECIMAL(38, {scales[name]})")
    return sge.TryCast(this=sge.column(name, quoted=True), to=to)


def _scale(node: sge.Expression, scales: dict[str, int]) -> int:
    """Decimal places the engine gives an arithmetic sub-expression (at most SCALE)."""
    if isinstance(node, sge.Column):
        return scales.get(node.name, SCALE)
    if isinstance(node, sge.Literal) and not node.is_string:
        text = node.this.strip()
        return min(len(text.split(".", 1)[1]) if "." in text else 0, SCALE)
    if isinstance(node, (sge.Paren, sge.Neg)):
        return _scale(node.this, scales)
    if isinstance(node, sge.Mul):
        return min(_scale(node.this, scales) + _scale(node.expression, scales), SCALE)
    if isinstance(node, sge.Div):
        return min(_scale(node.this, scales) + (_power_of_ten(node.expression) or 0), SCALE)
    if isinstance(node, (sge.Add, sge.Sub)):
        return max(_scale(node.this, scales), _scale(node.expression, scales))
    if isinstance(node, sge.Anonymous) and str(node.this).upper() == "GPU_COUNT":
        return 0
    return SCALE


def _approx(node: sge.Expression, scales: dict[str, int], operand) -> sge.Expression:
    """The row's value of an arithmetic sub-expression as a double, built from its leaves
    (so that checking every level does not copy the exact expressions below it)."""
    double = sge.DataType.build("DOUBLE")
    if isinstance(node, sge.Column) and node.name in scales:
        return sge.TryCast(this=sge.column(node.name, quoted=True), to=double)
    if isinstance(node, sge.Paren):
        return _approx(node.this, scales, operand)
    if isinstance(node, sge.Neg):
        return sge.Neg(this=_approx(node.this, scales, operand))
    if isinstance(node, (sge.Mul, sge.Add, sge.Sub)):
        left, right = _approx(node.this, scales, operand), _approx(node.expression, scales, operand)
        return type(node)(this=left, expression=right)
    if isinstance(node, sge.Div):
        divisor = sge.Cast(this=node.expression.copy(), to=double)
        return sge.Div(this=_approx(node.this, scales, operand), expression=divisor)
    return sge.TryCast(this=operand(node.copy()), to=double)


def _places(node: sge.Expression, scales: dict[str, int], operand) -> sge.Expression:
    """At most how many decimal places the row's value of a sub-expression has (from its
    leaves: a product has at most the sum of its operands' places)."""
    if isinstance(node, sge.Paren | sge.Neg):
        return _places(node.this, scales, operand)
    if isinstance(node, sge.Mul):
        left, right = _places(node.this, scales, operand), _places(node.expression, scales, operand)
        return sge.Add(this=left, expression=right)
    if isinstance(node, sge.Div):
        n = _power_of_ten(node.expression) or 0
        return sge.Add(this=_places(node.this, scales, operand), expression=sge.convert(n))
    if isinstance(node, (sge.Add, sge.Sub)):
        return sge.Greatest(
            this=_places(node.this, scales, operand), expressions=[_places(node.expression, scales, operand)]
        )
    if isinstance(node, sge.Literal) and not node.is_string:
        return sge.convert(_scale(node, scales))
    value = sge.column(node.name, quoted=True) if isinstance(node, sge.Column) else operand(node.copy())
    text = sge.Cast(this=value, to=sge.DataType.build("VARCHAR"))
    pattern = sge.convert(r"\.([0-9]*)$")
    fraction = sge.RegexpExtract(this=sge.Trim(this=text), expression=pattern, group=sge.convert(1))
    return sge.Length(this=sge.Trim(this=fraction, expression=sge.convert("0"), position="TRAILING"))


def _guarded(node, left, right, scales: dict[str, int], operand, checks: list) -> sge.Expression:
    """`left op right` computed only where the engine's 38 digits hold it exactly.

    A product of s1 and s2 decimal places has s1 + s2; beyond the ledger's 18 the operands
    are read at fewer places (9 each, or what the other leaves; for two plain columns also
    all 18 to either side), which is exact only where the row's values have no more places
    than that. The magnitude is checked first on doubles with a margin: an overflow in the
    engine would fail the whole file. A row failing every way gets NULL here and the reason
    in `checks`: the FOCUS rules quarantine it alone. Division is by a power of ten only
    (`_parse`), done as a product by 10**-n."""
    sl, sr = _scale(node.this, scales), _scale(node.expression, scales)
    op = type(node)
    if op is sge.Div:
        n = _power_of_ten(node.expression) or 0
        op, sr = sge.Mul, min(n, SCALE)
        right = sge.Cast(this=sge.convert(f"0.{'0' * (n - 1)}1" if n else "1"),
                         to=sge.DataType.build(f"DECIMAL(38, {sr})"))  # fmt: skip
    bound = sge.Literal.number(f"{RANGE * 0.999999:.6e}")
    leaves = [x for x in (node.this, node.expression) if not isinstance(x, (*_ARITHMETIC, sge.Paren))]
    sizes = [node, *leaves] if op is not sge.Mul else [node]
    within = [sge.LT(this=sge.Abs(this=_approx(x, scales, operand)), expression=bound) for x in sizes]
    size = sge.and_(*within)
    if op is not sge.Mul or sl + sr <= SCALE:
        ways = [(size, op(this=left, expression=right))]
    else:
        balanced = min(sl, max(SCALE - sr, SCALE // 2))
        splits = [balanced] + ([min(sl, SCALE), SCALE - min(sr, SCALE)] if len(leaves) == 2 else [])
        ways = []
        for rl in dict.fromkeys(splits):
            rr = min(sr, SCALE - rl)
            exact = [
                sge.LTE(this=_places(side, scales, operand), expression=sge.convert(r))
                for side, r, s in ((node.this, rl, sl), (node.expression, rr, sr))
                if r < s
            ]
            a, b = _at(left, rl, sl), _at(right, rr, sr)
            ways.append((sge.and_(*exact, size.copy()), sge.Mul(this=a, expression=b)))
    fits = sge.or_(*(sge.Paren(this=c.copy()) for c, _ in ways)) if len(ways) > 1 else ways[0][0].copy()
    checks.append((fits, f"beyond {SCALE} places or 20 digits: {node.sql('duckdb')}"))
    return sge.Case(ifs=[sge.If(this=c, true=v) for c, v in ways], default=sge.Null())


def _at(value: sge.Expression, places: int, has: int) -> sge.Expression:
    """`value` read at fewer decimal places (where a guard has checked it has no more)."""
    if places >= has:
        return value.copy()
    return sge.Cast(this=value.copy(), to=sge.DataType.build(f"DECIMAL(38, {places})"))


def _lookup(node: sge.Anonymous, attr: str, table) -> sge.Expression:
    if len(node.expressions) != 1:
        raise UsageError(f"{str(node.this).lower()}() takes one column, the instance type")
    key = sge.Lower(this=sge.Trim(this=sge.column(node.expressions[0].name, quoted=True)))
    rows = {k: getattr(row, attr) for k, row in table.items()}
    ifs = [sge.If(this=key.eq(sge.convert(k)), true=sge.convert(v)) for k, v in sorted(rows.items())]
    return sge.Case(ifs=ifs, default=sge.Null())


def _measure(
    t: ir.Table, operands: list[str], own: list[str] = ()
) -> tuple[dict[str, int], list[str], list[str]]:
    """In one pass: of each numeric operand, the most decimal places of its plain values
    (the exact type its arithmetic runs in) and whether it has E notation somewhere; and
    which of the file's `own` columns hold a value on some row."""
    if not operands and not own:
        return {}, [], []
    aggs = {}
    for i, name in enumerate(operands):
        v = t[name]
        places = v.re_extract(r"\.(\d*)\s*$", 1).length()
        aggs[f"d{i}"] = ibis.ifelse(v.re_search(PLAIN) & (places <= SCALE), places, ibis.null("int64")).max()
        aggs[f"e{i}"] = (v.contains("e") | v.contains("E")).any()
    for i, name in enumerate(own):
        aggs[f"v{i}"] = t[name].notnull().any()
    got = t.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    scales = {name: got[f"d{i}"] or 0 for i, name in enumerate(operands)}
    exponents = [name for i, name in enumerate(operands) if got[f"e{i}"]]
    return scales, exponents, [name for i, name in enumerate(own) if got[f"v{i}"]]


def _plain(t: ir.Table, names: list[str]) -> ir.Table:
    """The operands' E notation written out as plain decimals, digit for digit (Azure
    writes quantities as 1.42949E-05); text that is not a number stays as it is, for the
    FOCUS rules to refuse its row with it."""
    from computeledger.ingest.normalize import with_plain_text

    spelt = {name: f"__plain_{i}" for i, name in enumerate(names)}
    t = with_plain_text(t, spelt)
    return t.mutate(**{name: t[tmp].fill_null(t[name]) for name, tmp in spelt.items()}).drop(*spelt.values())


def apply_mapping(store: Store, staged: Staged, mapping: Mapping) -> Staged:
    """The staged file seen through a mapping: FOCUS-named text columns, then its own as x_
    (those with a value on some row: a column empty throughout carries nothing to keep).
    Its numeric operands are measured first, in one pass: E notation is written out as
    plain decimals, digit for digit, and the most decimal places of their plain values fix
    the exact type their arithmetic runs in. A value that is not a plain decimal of at most
    18 places (digit separators, an exponent beyond reach) is its row's reason, shown with
    its column, and the row is quarantined alone. [dates] rules move their columns last.
    An [unnest] list's elements become rows of their own first (`_unnested`)."""
    from computeledger.ingest.normalize import ROW

    t, columns, own = staged.table, list(staged.columns), list(staged.columns)
    stride = unnested = None
    elements = None
    if mapping.unnest is not None:
        t, columns, stride, unnested, listed = _unnested(store, staged, mapping)
        elements = element_mapping(mapping)
    main, absent = resolve(replace(mapping, unnest=None), columns)
    if elements is not None:
        elements, more = resolve(elements, columns)
        absent = sorted(set(absent) | set(more))
    if absent:
        t = t.mutate(**{name: ibis.null("string") for name in absent})
    columns = [*columns, *absent]
    operands = numeric_operands(main) | (numeric_operands(elements) if elements else set())
    operands = sorted(operands & set(columns))
    scales, exponents, filled = _measure(t, operands, own)
    if exponents:
        t = _plain(t, exponents)
        scales |= _measure(t, exponents)[0]
    select = mapped_select(main, columns, scales, ROW, own=filled)
    if elements is not None:
        select = _with_elements(select, mapped_select(elements, columns, scales, ROW, own=filled), listed)
    table = store.through(t, select)
    if mapping.dates:
        table = table.mutate(**{c: _moved(table[c], rule) for c, rule in mapping.dates.items()})
    columns = [c for c in table.columns if c != ROW]
    sources = source_words([m for m in (main, elements) if m], set(absent))
    return Staged(
        table, columns, staged.first_line, "mapped", staged.rejects, staged.delimiter, staged.quote,
        stride=stride, unnested=unnested or 0, sources=sources,
    )  # fmt: skip


def source_words(mappings: list[Mapping], absent: set[str], most: int = 3) -> dict[str, str]:
    """FOCUS column -> the file's columns it is read from, in words ("from lineItem/UnblendedCost",
    "from a, b", "from 11 columns by the mapping aws-cur"), over the mappings of a file (an
    [unnest]'s element mapping beside its main one); the optional columns the file lacks
    (`absent`) are not named. A constant reads no column."""
    read: dict[str, set[str]] = {}
    for m in mappings:
        for target, source in m.columns.items():
            read.setdefault(target, set()).add(source)
        for target, expr in m.expressions.items():
            read.setdefault(target, set()).update(c.name for c in expr.find_all(sge.Column))
    read = {target: cols - absent for target, cols in read.items()}
    name = mappings[0].name if mappings else ""
    return {
        target: f"from {', '.join(sorted(cols))}" if len(cols) <= most
        else f"from {len(cols)} columns by the mapping {name}"
        for target, cols in read.items() if cols
    }  # fmt: skip


def _unnested(store: Store, staged: Staged, mapping: Mapping) -> tuple[ir.Table, list[str], int, int, str]:
    """The staged rows and a row for each element of the [unnest] list (`Store.unnest`),
    the columns they have, the stride of their row numbers, how many elements there were
    and the list column as the file spells it. A file lacking the list column has no
    elements if the column is optional."""
    from computeledger.ingest.normalize import ROW, ROWS_PER_INGEST
    from computeledger.store.base import ELEMENT

    u = mapping.unnest
    assert u is not None
    key = snake(u.column) if mapping.names == "snake" else u.column
    found = [c for c in staged.columns if (snake(c) if mapping.names == "snake" else c) == key]
    names = sorted(u.element_columns())
    if not found and u.column not in mapping.optional:
        raise MappingMismatch(
            f"mapping {mapping.name} ({mapping.path}) names column(s) the file lacks: {u.column}"
        )
    if not found:
        t = staged.table.mutate(**{n: ibis.null("string") for n in names}, **{ELEMENT: ibis.null("int64")})
        return t, [*staged.columns, *names], 1, 0, u.column
    stride = (staged.table[ROW].max().to_pyarrow().as_py() or 0) + 1
    t = store.unnest(staged.table, found[0], u.fields, stride)
    got = t.aggregate(n=(t[ELEMENT] >= 0).sum(), top=t[ROW].max()).to_pyarrow().to_pylist()[0]
    if (got["top"] or 0) >= ROWS_PER_INGEST:
        raise MappingMismatch(
            f"column {found[0]}: too many list elements for one file ({got['n']:,} beside {stride:,} rows)"
        )
    elements = [f"{found[0]}.{f}" for f in u.fields]
    return t, [*staged.columns, *elements], stride, int(got["n"] or 0), found[0]


def _with_elements(rows: sge.Select, elements: sge.Select, listed: str) -> sge.Select:
    """One SELECT from the rows' and the element rows' (each target as each reads it,
    where they differ). A row whose list is not a JSON list of objects is refused: its
    BilledCost (or its first target) says so, which the FOCUS rules will not read."""
    from computeledger.store.base import ELEMENT

    element = sge.column(ELEMENT, quoted=True)
    is_element = sge.GTE(this=element, expression=sge.convert(0))
    broken = sge.EQ(this=element.copy(), expression=sge.convert(-1))
    mine = {e.alias_or_name: e for e in rows.expressions}
    theirs = {e.alias_or_name: e for e in elements.expressions}
    names = list(mine) + [n for n in theirs if n not in mine]
    flagged = "BilledCost" if "BilledCost" in mine else names[1]
    out = []
    for name in names:
        a, b = mine.get(name), theirs.get(name)
        value_a = a.this if isinstance(a, sge.Alias) else a
        value_b = b.this if isinstance(b, sge.Alias) else b
        if a is not None and b is not None and a.sql("duckdb") == b.sql("duckdb"):
            value = value_a.copy()
        else:
            ifs = [sge.If(this=is_element.copy(), true=value_b.copy() if b is not None else sge.Null())]
            value = sge.Case(ifs=ifs, default=value_a.copy() if a is not None else sge.Null())
        if name == flagged:
            why = sge.DPipe(this=sge.convert(f"{listed}: not a JSON list of objects: "),
                            expression=sge.column(listed, quoted=True))  # fmt: skip
            value = sge.Case(ifs=[sge.If(this=broken.copy(), true=why)], default=value)
        out.append(sge.alias_(value, name, quoted=True))
    return sge.select(*out)
