"""Allocation rules: a TOML file parsed into plain data, checked before anything runs.

    dimensions = ["product"]            # the rules' own dimensions, beside the standard ones

    [[rules]]                           # ordered; per dimension, the first rule that sets it wins
    name = "workload tags"
    match = { "tags.workload" = "^(inference|training)$", ChargeCategory = ["Usage"] }
    set = { workload = "{tags.workload}", model = "{tags.model}" }

    [[rules]]
    name = "node names"
    match = { ResourceName = '^(?P<kind>inf|tra)-(?P<model>.+)-node-\\d+$' }
    set = { workload = "{kind}", model = "{model}" }
    map = { workload = { inf = "inference", tra = "training" } }

    [[splits]]                          # spread charges over targets by a driver
    name = "platform costs"
    match = { workload = ["shared"] }
    driver = "gpu_hours"                # gpu_hours, cost (EffectiveCost) or tokens
    targets = { workload = ["inference", "training"] }

A match value is a regular expression searched in the column (a string) or a list of exact
values; `tags.KEY` looks a tag up with the key and value case-insensitive. `set` values are
literals or templates of `{tags.KEY}` and the regex's named groups; values from templates
are lowercased, and a template that finds nothing sets nothing, so a later rule may.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from computeledger.errors import UsageError

STANDARD = ("workload", "model", "team", "environment")
WORKLOADS = ("inference", "training", "research", "shared", "other")
UNALLOCATED = "unallocated"
DRIVERS = ("gpu_hours", "cost", "tokens")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Condition:
    column: str  # a charge column, `tags.KEY`, or (in splits) a dimension
    pattern: str | None = None  # a regex (named groups made plain, as RE2 and Java read them)
    values: tuple[str, ...] | None = None
    groups: dict[str, int] = field(default_factory=dict)  # named group -> index


@dataclass(frozen=True)
class Rule:
    name: str
    conditions: tuple[Condition, ...]
    sets: dict[str, str]  # dimension -> literal or template
    maps: dict[str, dict[str, str]]


@dataclass(frozen=True)
class Split:
    name: str
    conditions: tuple[Condition, ...]
    driver: str
    targets: tuple[Condition, ...]


@dataclass(frozen=True)
class Rules:
    path: str
    text: str
    version: str
    dimensions: tuple[str, ...]  # the standard ones, then the file's own
    rules: tuple[Rule, ...]
    splits: tuple[Split, ...]

    @property
    def extra(self) -> tuple[str, ...]:
        return self.dimensions[len(STANDARD) :]


def placeholders(value: str) -> list[str]:
    """The `{...}` references of a set value's template."""
    return _PLACEHOLDER.findall(value)


def is_tag(column: str) -> bool:
    return column.lower().startswith("tags.")


def load_rules(path: str | Path) -> Rules:
    """Parse and check a rules file (a path, or a shipped rules file's name: synth-lab)."""
    from computeledger.shipped import find

    path = find(path, "rules")
    try:
        raw = path.read_bytes()
        doc = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the rules file: {exc}") from exc
    except RecursionError as exc:
        raise UsageError(f"{path}: cannot read the rules file: nested too deeply") from exc
    return parse_rules(doc, str(path), raw)


def parse_rules(doc: dict, where: str = "<rules>", raw: bytes = b"") -> Rules:
    unknown = set(doc) - {"dimensions", "rules", "splits"}
    if unknown:
        raise UsageError(
            f"{where}: unknown entries {', '.join(sorted(unknown))} (use dimensions, rules, splits)"
        )
    extra = tuple(doc.get("dimensions", []))
    for d in extra:
        if not isinstance(d, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", d):
            raise UsageError(f"{where}: dimension {d!r}: use lowercase letters, digits and _")
    clash = [d for d in extra if d in STANDARD or extra.count(d) > 1]
    if clash:
        raise UsageError(f"{where}: dimension {clash[0]!r} is named twice (standard: {', '.join(STANDARD)})")
    dims = (*STANDARD, *extra)
    rules, names = [], set()
    for i, r in enumerate(doc.get("rules", [])):
        rule = _rule(r, f"{where}: rule {i + 1}", dims)
        if rule.name in names:
            raise UsageError(f"{where}: rule {rule.name!r}: the name is used twice")
        names.add(rule.name)
        rules.append(rule)
    splits = [_split(s, f"{where}: split {i + 1}", dims) for i, s in enumerate(doc.get("splits", []))]
    version = hashlib.sha256(raw or repr(doc).encode()).hexdigest()[:16]
    return Rules(where, raw.decode("utf-8"), version, dims, tuple(rules), tuple(splits))


def _name(r: dict, where: str) -> tuple[str, str]:
    name = r.get("name")
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"{where}: every rule needs a name")
    return name, f"{where.rsplit(':', 1)[0]}: rule {name!r}"


def _rule(r: dict, where: str, dims: tuple[str, ...]) -> Rule:
    name, where = _name(r, where)
    unknown = set(r) - {"name", "match", "set", "map"}
    if unknown:
        raise UsageError(f"{where}: unknown entries {', '.join(sorted(unknown))} (use match, set, map)")
    conditions = _conditions(r.get("match", {}), where)
    groups = {g for c in conditions for g in c.groups}
    sets = r.get("set", {})
    if not sets:
        raise UsageError(f"{where}: sets no dimension (add set = {{ workload = ... }})")
    for dim, value in sets.items():
        if dim not in dims:
            raise UsageError(f"{where}: unknown dimension {dim!r} (known: {', '.join(dims)})")
        if not isinstance(value, str):
            raise UsageError(f"{where}: set.{dim} must be a string")
        for ref in placeholders(value):
            if not (ref.startswith("tags.") and len(ref) > 5) and ref not in groups:
                raise UsageError(
                    f"{where}: set.{dim} refers to {{{ref}}}, which is neither tags.KEY nor a named "
                    f"group of the rule's patterns ({', '.join(sorted(groups)) or 'none'})"
                )
        if dim == "workload" and not _PLACEHOLDER.search(value) and value not in WORKLOADS:
            raise UsageError(f"{where}: workload {value!r} is not one of {', '.join(WORKLOADS)}")
    maps = r.get("map", {})
    for dim, table in maps.items():
        if dim not in sets or not isinstance(table, dict):
            raise UsageError(f"{where}: map.{dim} must be a table for a dimension the rule sets")
        bad = [str(v) for v in table.values() if dim == "workload" and v not in WORKLOADS]
        if bad:
            raise UsageError(f"{where}: map.workload gives {bad[0]!r}, not one of {', '.join(WORKLOADS)}")
    return Rule(
        name,
        conditions,
        dict(sets),
        {d: {str(k).lower(): str(v) for k, v in t.items()} for d, t in maps.items()},
    )


def _split(s: dict, where: str, dims: tuple[str, ...]) -> Split:
    name, where = _name(s, where)
    unknown = set(s) - {"name", "match", "driver", "targets"}
    if unknown:
        raise UsageError(
            f"{where}: unknown entries {', '.join(sorted(unknown))} (use match, driver, targets)"
        )
    driver = s.get("driver", "")
    if driver not in DRIVERS:
        raise UsageError(f"{where}: driver must be one of {', '.join(DRIVERS)}, not {driver!r}")
    targets = _conditions(s.get("targets", {}), where)
    if not targets or any(c.column not in dims for c in targets):
        raise UsageError(f"{where}: targets must select on dimensions ({', '.join(dims)})")
    return Split(name, _conditions(s.get("match", {}), where), driver, targets)


def _conditions(match: dict, where: str) -> tuple[Condition, ...]:
    if not isinstance(match, dict):
        raise UsageError(f"{where}: match must be a table of column = pattern")
    out = []
    for column, value in _flatten(match):
        if isinstance(value, list):
            out.append(Condition(column, values=tuple(str(v) for v in value)))
        elif isinstance(value, str):
            try:
                compiled = re.compile(value)
            except re.error as exc:
                raise UsageError(f"{where}: match.{column}: bad regular expression {value!r}: {exc}") from exc
            plain = re.sub(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>", "(", value)
            _check_engine_regex(plain, f"{where}: match.{column}")
            out.append(Condition(column, pattern=plain, groups=dict(compiled.groupindex)))
        else:
            raise UsageError(f"{where}: match.{column} must be a regular expression or a list of values")
    return tuple(out)


def _check_engine_regex(pattern: str, where: str) -> None:
    """Refuse now what the engines would refuse later: DuckDB reads RE2 (no backreferences,
    no lookaround, no verbose flag), the strictest of the engines the rules run on."""
    from computeledger.store import regex_problem

    why = regex_problem(pattern)
    if why is not None:
        raise UsageError(
            f"{where}: {pattern!r} is not a regular expression the engines read (RE2: no "
            f"backreferences, lookaround or verbose mode): {why}"
        )


def _flatten(match: dict, prefix: str = ""):
    """{"tags": {"workload": "x"}} (TOML's dotted keys) back to ("tags.workload", "x")."""
    for key, value in match.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value
