"""Figures files: CSV (a spreadsheet's export) or YAML (hand-written), parsed as data.

CSV columns: id, entity, metric, period_start, period_end (or instant, for a balance),
scope (`provider=azure; workload=inference`), value (`8.7B`, `>12B`, `3.5B..4B`), currency,
status (reported, disputed, estimate), source_publisher, source_title, source_url,
source_date, note. YAML: the same fields under `figures:` (source and scope as mappings,
`period: 2025-01-01..2025-09-30` allowed), plus optional `rules:` (how much disputed and
estimated figures widen), `metrics:` (the user's own), `assumptions:` (monthly growth
range), `claims:` and `projections:`. Every error names the file and the line or entry.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from computeledger.errors import UsageError
from computeledger.figures.catalog import Catalog, default_catalog
from computeledger.figures.model import (
    STATUSES,
    Figure,
    Interval,
    Source,
    parse_amount,
    parse_period,
    parse_period_text,
    parse_scope,
    stated_currency,
)

SYNONYMS = {
    "estimated": "estimate", "projection": "estimate", "projected": "estimate", "forecast": "estimate",
    "contested": "disputed", "denied": "disputed", "confirmed": "reported",
}  # fmt: skip
WIDEN = {"reported": Decimal(0), "disputed": Decimal("0.25"), "estimate": Decimal("0.20")}
REQUIRED = ("entity", "metric")


@dataclass
class FigureSet:
    path: str
    figures: list[Figure]
    catalog: Catalog
    widen: dict[str, Decimal]
    growth: Interval  # monthly growth range for growth-based methods
    claims: list[dict] = field(default_factory=list)
    projections: list[dict] = field(default_factory=list)
    uncatalogued: tuple[str, ...] = ()  # metrics read as plain flows: no catalogue relation


def read_figures(path: str | Path, metrics: str | Path | None = None) -> FigureSet:
    """Figures from a CSV or YAML file (a path, or a shipped example's name); `metrics`, a
    YAML list of the user's own metrics (as a YAML file's `metrics:`), extends the catalogue."""
    from computeledger.shipped import find

    extra: list = []
    if metrics is not None:
        try:
            from computeledger import yamlfile

            extra = yamlfile.load(Path(metrics).read_text(encoding="utf-8"), str(metrics)) or []
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{metrics}: cannot read the metrics: {exc}") from None
        if isinstance(extra, dict):
            extra = extra.get("metrics") or []
        if not isinstance(extra, list):
            raise UsageError(f"{metrics}: a list of metrics (name, kind, part_of)")

    path = find(path, "examples")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        from computeledger import yamlfile

        doc = yamlfile.load(text, str(path)) or {}
        if not isinstance(doc, dict):
            raise UsageError(f"{path}: expected a mapping with figures:, claims:, ...")
        if extra:
            doc = doc | {"metrics": [*(doc.get("metrics") or []), *extra]}
        return _from_doc(doc, str(path))
    rows, lines = _csv_records(text)
    return _from_doc({"figures": rows, "metrics": extra}, str(path), csv_lines=lines)


def _csv_records(text: str) -> tuple[list[dict], list[int]]:
    """The CSV's records and the line each starts on (a quoted value may span lines)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    reader.fieldnames  # noqa: B018 - reads the header, so that line_num counts past it
    rows, lines, last = [], [], reader.line_num
    for row in reader:
        rows.append(row)
        lines.append(last + 1)
        last = reader.line_num
    return rows, lines


def _from_doc(doc: dict, where: str, csv_lines: list[int] | None = None) -> FigureSet:
    unknown = set(doc) - {"figures", "rules", "metrics", "assumptions", "claims", "projections"}
    if unknown:
        raise UsageError(f"{where}: unknown sections {', '.join(sorted(unknown))}")
    widen = dict(WIDEN)
    for status, share in (doc.get("rules") or {}).items():
        if status not in STATUSES:
            raise UsageError(f"{where}: rules: unknown status {status!r} (use {', '.join(STATUSES)})")
        widen[status] = _decimal(share, f"{where}: rules.{status}")
    catalog = default_catalog().extended(doc.get("metrics") or [], where)
    named = {str(r.get("metric", "")).strip() for r in doc.get("figures") or [] if isinstance(r, dict)}
    uncatalogued = tuple(sorted(m for m in named if m and m not in catalog.metrics))
    if uncatalogued:  # read as plain flows: period sums and differences still apply
        catalog = catalog.extended([{"name": m, "kind": "flow"} for m in uncatalogued], where)
    growth = (doc.get("assumptions") or {}).get("growth", ["0", "0.10"])
    if not isinstance(growth, list) or len(growth) != 2:
        raise UsageError(f"{where}: assumptions.growth must be [lowest, highest] monthly growth")
    g = Interval(_decimal(growth[0], f"{where}: growth"), _decimal(growth[1], f"{where}: growth"))
    figures, seen = [], set()
    for i, row in enumerate(doc.get("figures") or []):
        at = f"{where}, line {csv_lines[i]}" if csv_lines is not None else f"{where}: figure {i + 1}"
        fig = _figure(row, at, csv_lines[i] if csv_lines is not None else i + 1, catalog, widen)
        if fig.id in seen:
            raise UsageError(f"{at}: id {fig.id!r} is used twice")
        seen.add(fig.id)
        figures.append(fig)
    currencies: dict[tuple, Figure] = {}
    for f in figures:
        other = currencies.setdefault((f.entity, f.metric), f)
        if other.currency != f.currency:
            raise UsageError(
                f"{where}: {f.id} is in {f.currency} and {other.id} in {other.currency}: one currency per "
                "entity and metric (convert first; computeledger does not guess exchange rates)"
            )
    return FigureSet(
        where,
        figures,
        catalog,
        widen,
        g,
        list(doc.get("claims") or []),
        list(doc.get("projections") or []),
        uncatalogued,
    )


def _decimal(value, where: str) -> Decimal:
    try:
        out = Decimal(str(value))
    except Exception as exc:
        raise UsageError(f"{where}: not a number: {value!r}") from exc
    if not out.is_finite() or abs(out.adjusted()) > 30:
        raise UsageError(f"{where}: not a usable number: {value!r}")
    return out


def _currency(row: dict, stated: str, at: str) -> str:
    given = str(row.get("currency") or "").strip().upper()
    named = stated_currency(stated)
    if given and named and given != named:
        raise UsageError(f"{at}, column currency: {given}, but the value {stated!r} is in {named}")
    return given or named or "USD"


def _figure(row: dict, at: str, line: int, catalog: Catalog, widen: dict) -> Figure:
    if not isinstance(row, dict):
        raise UsageError(f"{at}: a figure is a mapping of fields")
    row = {"_".join(str(k).strip().lower().split()): v for k, v in row.items() if k is not None}
    for col in REQUIRED:
        if row.get(col) in (None, ""):
            raise UsageError(f"{at}, column {col}: missing")
    metric = str(row["metric"]).strip()
    if metric not in catalog.metrics:
        raise UsageError(
            f"{at}, column metric: unknown metric {metric!r} (known: {', '.join(sorted(catalog.metrics))})"
        )
    if row.get("period") not in (None, ""):
        period = parse_period_text(str(row["period"]), f"{at}, column period")
    else:
        period = parse_period(
            row.get("period_start"), row.get("period_end"), row.get("instant"), f"{at}, column period"
        )
    if catalog.metrics[metric].kind == "balance" and not period.instant:
        raise UsageError(f"{at}: {metric} is a balance: give an instant, not a period")
    status = str(row.get("status") or "reported").strip().lower()
    status = SYNONYMS.get(status, status)
    if status not in STATUSES:
        raise UsageError(f"{at}, column status: {status!r} is not one of {', '.join(STATUSES)}")
    low, high = row.get("low", row.get("value_low")), row.get("high", row.get("value_high"))
    if row.get("value") in (None, "") and (low not in (None, "") or high not in (None, "")):
        row["value"] = (
            f"{low}..{high}"
            if low not in (None, "") and high not in (None, "")
            else (f">={low}" if low not in (None, "") else f"<={high}")
        )
    if row.get("value") in (None, ""):
        raise UsageError(f"{at}, column value: missing (a value, or low and/or high)")
    stated = str(row["value"])
    reported = parse_amount(stated, f"{at}, column value")
    value = reported.widen(widen[status]) if status != "reported" else reported
    src = row.get("source") if isinstance(row.get("source"), dict) else {"publisher": row.get("source")}
    source = Source(
        publisher=str(src.get("publisher") or row.get("source_publisher") or ""),
        title=str(src.get("title") or row.get("source_title") or ""),
        url=str(src.get("url") or row.get("source_url") or ""),
        date=str(src.get("date") or row.get("source_date") or ""),
    )
    return Figure(
        id=str(row.get("id") or f"line-{line}"),
        entity=str(row["entity"]).strip(),
        metric=metric,
        period=period,
        scope=parse_scope(row.get("scope"), f"{at}, column scope"),
        stated=stated,
        value=value,
        reported=reported,
        currency=_currency(row, stated, at),
        source=source,
        status=status,
        note=str(row.get("note") or ""),
        line=line,
    )
