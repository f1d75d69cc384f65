"""Claims about figures, checked against their intervals: holds, fails, or undetermined.

Three kinds (YAML `claims:`):
- compare: `a: ID, op: ">", factor: 2, b: ID` (a > 2 x b), optionally `annualise: linear`
  or `growth` for a; checked as reported (rounding only) and with the status widening,
  and with the margin: how far both figures may err in opposite directions before the
  claim stops holding;
- consistent: `consistent: [ID, ...]`: no contradiction rests on these figures;
- bound: `bound: {entity, metric, scope, period}, op: ">=", value: 12B`: what all figures
  imply for a quantity, reported or not (e.g. total compute bounded below by its parts).
"""

from __future__ import annotations

from decimal import Decimal

from computeledger import money
from computeledger.errors import UsageError
from computeledger.figures.engine import Report, annualise
from computeledger.figures.model import Interval, parse_amount, parse_period, parse_period_text, parse_scope
from computeledger.figures.read import FigureSet

OPS = (">", ">=", "<", "<=")


def _verdict(a: Interval, op: str, b: Interval) -> str:
    """holds if every a and b in their intervals satisfy `a op b`; fails if none do."""
    if op in (">", ">="):
        a, b, op = b, a, "<" if op == ">" else "<="
    strict = op == "<"
    if a.hi is not None and b.lo is not None and (a.hi < b.lo or (not strict and a.hi <= b.lo)):
        return "holds"
    if a.lo is not None and b.hi is not None and (a.lo > b.hi or (strict and a.lo >= b.hi)):
        return "fails"
    return "undetermined"


def exact(value, where: str) -> Interval:
    """A threshold as written: exactly its value (no rounding interval)."""
    stated = parse_amount(str(value), where)
    if stated.lo is None or stated.hi is None:
        return stated
    middle = money.divide(stated.lo + stated.hi, 2)
    return Interval(middle, middle)


def _value(report: Report, fs: FigureSet, fid: str, how: str | None, widened: bool, where: str) -> Interval:
    fig = next((f for f in fs.figures if f.id == fid), None)
    if fig is None:
        raise UsageError(f"{where}: no figure {fid!r}")
    if how:
        a = annualise(fig, fs.growth, widened)
        if a is None:
            raise UsageError(f"{where}: {fid} is not a flow over part of a calendar year")
        if how not in ("linear", "growth"):
            raise UsageError(f"{where}: annualise must be linear or growth")
        return a[how]
    return fig.value if widened else fig.reported


def evaluate(claim: dict, fs: FigureSet, reported: Report, widened: Report) -> dict:
    where = f"{fs.path}: claim {claim.get('id', '?')}"
    out = {"id": claim.get("id", ""), "text": claim.get("text", "")}
    if "consistent" in claim:
        ids = set(map(str, claim["consistent"]))
        unknown = ids - {f.id for f in fs.figures}
        if unknown:
            raise UsageError(f"{where}: no figure {sorted(unknown)[0]!r}")
        for name, rep in (("as_reported", reported), ("widened", widened)):
            hits = [c for c in rep.contradictions if ids & (set(c.a.sources) | set(c.b.sources))]
            out[name] = "holds" if not hits else "fails"
            if hits:
                out[f"{name}_gap"] = max(c.gap for c in hits)
        out["kind"] = "consistent"
        out["sources"] = sorted(ids)
        return out
    op = claim.get("op", ">")
    if op not in OPS:
        raise UsageError(f"{where}: op must be one of {', '.join(OPS)}")
    if "bound" in claim:
        b = claim["bound"]
        if b.get("period"):
            period = parse_period_text(str(b["period"]), where)
        else:
            period = parse_period(None, None, b.get("instant"), where)
        key = (str(b.get("entity", "")), str(b.get("metric", "")), parse_scope(b.get("scope"), where), period)
        target = exact(claim.get("value"), f"{where}: value")
        for name, rep in (("as_reported", reported), ("widened", widened)):
            implied = rep.implied(key)
            out[name] = "undetermined" if implied is None else _verdict(implied, op, target)
            out[f"{name}_interval"] = implied
            out[f"{name}_sources"] = sorted({s for e in rep.entries.get(key, []) for s in e.sources})
        out["kind"] = "bound"
        return out
    factor = Decimal(str(claim.get("factor", 1)))
    how = claim.get("annualise")
    for name, widen in (("as_reported", False), ("widened", True)):
        a = _value(reported, fs, str(claim.get("a")), how, widen, where)
        b = _value(reported, fs, str(claim.get("b")), None, widen, where).scale(factor)
        out[name] = _verdict(a, op, b)
        out[f"{name}_a"], out[f"{name}_b"] = a, b
    a = _value(reported, fs, str(claim.get("a")), how, False, where)
    b = _value(reported, fs, str(claim.get("b")), None, False, where).scale(factor)
    out["margin"] = _margin(a, op, b)
    out["kind"] = "compare"
    out["sources"] = [str(claim.get("a")), str(claim.get("b"))]
    return out


def _margin(a: Interval, op: str, b: Interval) -> Decimal | None:
    """The largest error w (a share) both sides may carry in opposite directions with the
    claim still holding: a(1-w) > b(1+w) gives w < (a - b) / (a + b), for a > b."""
    if op in ("<", "<="):
        a, b = b, a
    if a.lo is None or b.hi is None or a.lo <= b.hi or a.lo + b.hi <= 0:
        return None
    return money.divide(a.lo - b.hi, a.lo + b.hi)
