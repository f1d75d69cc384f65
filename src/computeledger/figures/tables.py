"""A figures check as tables (for the CLI's table, csv and json output)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from computeledger.figures.claims import evaluate
from computeledger.figures.engine import Report, check, describe, project
from computeledger.figures.model import Interval
from computeledger.figures.read import FigureSet

UNITS = ((Decimal("1e12"), "T"), (Decimal("1e9"), "B"), (Decimal("1e6"), "M"), (Decimal("1e3"), "K"))


def amount(value: Decimal | None, human: bool = True) -> str:
    """An amount as text: exact (plain digits), or short for people (8.65B)."""
    if value is None:
        return ""
    if not human:
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    for size, unit in UNITS:
        if abs(value) >= size:
            return f"{(value / size).quantize(Decimal('0.001')).normalize():f}{unit}"
    return f"{value.quantize(Decimal('0.01')):f}"


def interval(v: Interval | None, human: bool = True) -> str:
    if v is None:
        return "unknown"
    if v.lo is not None and v.lo == v.hi:
        return amount(v.lo, human)
    lo = amount(v.lo, human) if v.lo is not None else "-inf"
    hi = amount(v.hi, human) if v.hi is not None else "+inf"
    return f"{lo}..{hi}"


def check_tables(fs: FigureSet, human: bool = True) -> dict[str, pa.Table]:
    widened, reported = check(fs), check(fs, widened=False)
    return {
        "figures": _figures(fs, human),
        "implied": _implied(widened, reported, human, trivial=False),
        "contradictions": _contradictions(widened, reported, human),
        "annualised": _annualised(widened, human),
        "claims": _claims(fs, reported, widened, human),
        "projections": _projections(widened, fs, human),
        "bounds": _implied(widened, reported, human, trivial=True),
    }


#: Derivations that only say a part is at most its whole, or a whole at least its part.
TRIVIAL = {"part of it", "part of a whole"}


def is_bound(entries) -> bool:
    """Whether a quantity is known only through trivial bounds (shown under `bounds`)."""
    return all(e.method in TRIVIAL for e in entries)


def _table(rows: list[dict], columns: list[str]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=pa.schema([(c, pa.string()) for c in columns]))


def _figures(fs: FigureSet, human: bool) -> pa.Table:
    rows = [
        {
            "id": f.id,
            "quantity": describe(f.key),
            "stated": f.stated,
            "status": f.status,
            "interval": interval(f.value, human),
            "source": str(f.source),
            "note": f.note,
        }
        for f in fs.figures
    ]
    return _table(rows, ["id", "quantity", "stated", "status", "interval", "source", "note"])


def _implied(widened: Report, reported: Report, human: bool, trivial: bool) -> pa.Table:
    rows = []
    for key, entries in widened.entries.items():
        if is_bound(entries) != trivial:
            continue
        rows.append(
            {
                "quantity": describe(key),
                "as_reported": interval(reported.implied(key), human),
                "widened": interval(widened.implied(key), human),
                "how": "; ".join(sorted({e.method for e in entries})),
                "sources": ", ".join(sorted({s for e in entries for s in e.sources})),
            }
        )
    return _table(rows, ["quantity", "as_reported", "widened", "how", "sources"])


def _contradictions(widened: Report, reported: Report, human: bool) -> pa.Table:
    rows = []
    for basis, rep in (("as reported", reported), ("widened", widened)):
        for c in rep.contradictions:
            rows.append(
                {
                    "basis": basis,
                    "quantity": describe(c.key),
                    "one": _entry(c.a, human),
                    "other": _entry(c.b, human),
                    "gap": amount(c.gap, human),
                }
            )
    return _table(rows, ["basis", "quantity", "one", "other", "gap"])


def _entry(e, human: bool) -> str:
    return f"{e.label or e.method}: {interval(e.value, human)} ({', '.join(e.sources)})"


def _annualised(rep: Report, human: bool) -> pa.Table:
    rows = [
        {
            "figure": a["figure"],
            "period": a["period"],
            "to": a["to"],
            "linear": interval(a["linear"], human),
            "growth": interval(a["growth"], human),
            "growth_range": f"{a['growth_range'][0]}..{a['growth_range'][1]} per month",
        }
        for a in rep.annualised
    ]
    return _table(rows, ["figure", "period", "to", "linear", "growth", "growth_range"])


def _claims(fs: FigureSet, reported: Report, widened: Report, human: bool) -> pa.Table:
    rows = []
    for claim in fs.claims:
        r = evaluate(claim, fs, reported, widened)
        rows.append(
            {
                "id": r["id"],
                "claim": r["text"],
                "as_reported": r["as_reported"],
                "widened": r["widened"],
                "detail": _claim_detail(r, human),
            }
        )
    return _table(rows, ["id", "claim", "as_reported", "widened", "detail"])


def _claim_detail(r: dict, human: bool) -> str:
    """Why a claim holds or fails, in words."""
    detail = ""
    if r["kind"] == "compare":
        detail = f"a {interval(r['as_reported_a'], human)} vs b {interval(r['as_reported_b'], human)}; " + (
            f"holds unless both err by more than {r['margin'] * 100:.1f}% in opposite directions"
            if r["margin"] is not None
            else "no margin"
        )
    elif r["kind"] == "bound":
        implied = interval(r["as_reported_interval"], human)
        detail = f"implied {implied} from {', '.join(r['as_reported_sources'])}"
    elif r["kind"] == "consistent":
        detail = (
            "no contradiction rests on these figures" if r["widened"] == "holds" else "see contradictions"
        )
    return detail


def _projections(rep: Report, fs: FigureSet, human: bool) -> pa.Table:
    rows = []
    for spec in fs.projections:
        p = project(rep, fs, spec)
        g = p["growth_range"]
        rows.append(
            {
                "id": p["id"],
                "projection": p["text"],
                "to": p["to"],
                "projected": interval(p["projected"], human),
                "growth": f"{g[0]}..{g[1]} per month",
                "threshold": interval(p.get("threshold"), human),
                "p_exceeds": f"{p['probability_exceeds']:.3f}" if "probability_exceeds" in p else "",
                "sources": ", ".join(p["sources"]),
            }
        )
    return _table(
        rows, ["id", "projection", "to", "projected", "growth", "threshold", "p_exceeds", "sources"]
    )


# -- typed records, for --format json ------------------------------------------------------


def quantity_fields(key: tuple) -> dict:
    """A quantity's parts as fields: entity, metric, scope (an object), period start and end."""
    entity, metric, scope, period = key
    return {"entity": entity, "metric": metric, "scope": dict(scope), "period_start": period.start,
            "period_end": period.end, "instant": period.instant}  # fmt: skip


def bounds(v: Interval | None, prefix: str = "") -> dict:
    """An interval as low and high (null: open, or unknown)."""
    return {f"{prefix}low": None if v is None else v.lo, f"{prefix}high": None if v is None else v.hi}


def check_records(fs: FigureSet) -> dict[str, list[dict]]:
    """The figures check as typed records: every quantity as entity, metric, scope, period;
    every interval as low and high; sources as lists of figure ids."""
    widened, reported = check(fs), check(fs, widened=False)
    out: dict[str, list[dict]] = {}
    out["figures"] = [
        {"id": f.id, **quantity_fields(f.key), "stated": f.stated, "currency": f.currency, "status": f.status,
         **bounds(f.reported, "reported_"), **bounds(f.value), "source": str(f.source),
         "sources": list(f.sources), "note": f.note}
        for f in fs.figures
    ]  # fmt: skip
    implied = [
        {**quantity_fields(key), **bounds(reported.implied(key), "as_reported_"),
         **bounds(widened.implied(key)),
         "derivations": [{"how": e.method, "label": e.label, "sources": list(e.sources),
                          **bounds(e.value)} for e in entries],
         "sources": sorted({s for e in entries for s in e.sources})}
        for key, entries in widened.entries.items()
    ]  # fmt: skip
    kinds = [is_bound(entries) for entries in widened.entries.values()]
    out["implied"] = [r for r, b in zip(implied, kinds, strict=True) if not b]
    out["bounds"] = [r for r, b in zip(implied, kinds, strict=True) if b]
    out["contradictions"] = [
        {"basis": basis, **quantity_fields(c.key), "gap": c.gap,
         "one": {"how": c.a.method, "label": c.a.label, "sources": list(c.a.sources), **bounds(c.a.value)},
         "other": {"how": c.b.method, "label": c.b.label, "sources": list(c.b.sources), **bounds(c.b.value)}}
        for basis, rep in (("as reported", reported), ("widened", widened))
        for c in rep.contradictions
    ]  # fmt: skip
    out["annualised"] = [
        {"figure": a["figure"], "period": a["period"], "to": a["to"], **bounds(a["linear"], "linear_"),
         **bounds(a["growth"], "growth_"), "growth_low": a["growth_range"][0],
         "growth_high": a["growth_range"][1]}
        for a in widened.annualised
    ]  # fmt: skip
    out["claims"] = [
        {"id": r["id"], "claim": r["text"], "kind": r["kind"], "as_reported": r["as_reported"],
         "widened": r["widened"], "margin": r.get("margin"), "detail": _claim_detail(r, False)}
        for r in (evaluate(c, fs, reported, widened) for c in fs.claims)
    ]  # fmt: skip
    out["projections"] = []
    for spec in fs.projections:
        p = project(widened, fs, spec)
        out["projections"].append(
            {"id": p["id"], "projection": p["text"], "to": p["to"], **bounds(p["projected"]),
             "monthly_growth_low": p["growth_range"][0], "monthly_growth_high": p["growth_range"][1],
             **bounds(p.get("threshold"), "threshold_"), "probability_exceeds": p.get("probability_exceeds"),
             "sources": list(p["sources"])}
        )  # fmt: skip
    return out


def json_default(value):
    """JSON for what json cannot write: money and rates as exact strings, dates as ISO text."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
