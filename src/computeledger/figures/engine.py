"""What a set of reported figures implies: derived figures, bounds, contradictions, claims
and projections, each with its chain of sources.

Every quantity is keyed by (entity, metric, scope, period). Each figure, and each thing
derived from figures, is an *entry* for its key: an interval with the method that made it
and the figures it rests on. Derivations:
- period algebra on flows of one entity, metric and scope: adjacent periods add up, a
  period minus a sub-period that shares one of its ends gives the rest;
- identities: revenue = revenue_share / revenue_share_rate; cash_burn = cash_out - cash_in;
  cash at a period's start - the period's burn = cash the day after it ends;
- containment: a part bounds its whole from below (the sum of disjoint parts, too), a
  whole bounds its parts from above.
Entries of one key that cannot all hold are a contradiction, with the gap between them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import combinations

import numpy as np

from computeledger import money
from computeledger.errors import UsageError
from computeledger.figures.model import (
    QUALIFIER,
    Figure,
    Interval,
    Period,
    next_day,
    parse_amount,
    parse_date,
)
from computeledger.figures.read import FigureSet

ROUNDS = 3  # derivation rounds: enough for sums of sums and bounds on them


@dataclass(frozen=True)
class Entry:
    key: tuple  # (entity, metric, scope, period)
    value: Interval
    method: str  # "reported", "disputed", "estimate", or how it was derived
    sources: tuple[str, ...]  # figure ids it rests on
    label: str = ""  # a figure's id, or a description of the derivation

    @property
    def derived(self) -> bool:
        return self.method not in ("reported", "disputed", "estimate")


@dataclass(frozen=True)
class Contradiction:
    key: tuple
    a: Entry
    b: Entry
    gap: Decimal


@dataclass
class Report:
    figures: list[Figure]
    entries: dict[tuple, list[Entry]]
    contradictions: list[Contradiction] = field(default_factory=list)
    annualised: list[dict] = field(default_factory=list)
    claims: list[dict] = field(default_factory=list)
    projections: list[dict] = field(default_factory=list)

    def implied(self, key: tuple) -> Interval | None:
        """All a key's entries together (their intersection), or None if nothing is known."""
        entries = self.entries.get(key)
        if not entries:
            return None
        out = Interval(None, None)
        for e in entries:
            out = out.intersect(e.value)
        return out


def _within(inner: Interval, outer: Interval) -> bool:
    lo_ok = outer.lo is None or (inner.lo is not None and inner.lo >= outer.lo)
    hi_ok = outer.hi is None or (inner.hi is not None and inner.hi <= outer.hi)
    return lo_ok and hi_ok


def describe(key: tuple) -> str:
    entity, metric, scope, period = key
    where = ", ".join(v if k == QUALIFIER else f"{k}={v}" for k, v in scope) or "all"
    return f"{entity} {metric} [{where}] {period}"


class _Book:
    """Entries by key, without duplicates (same key, method and sources)."""

    def __init__(self) -> None:
        self.entries: dict[tuple, list[Entry]] = defaultdict(list)
        self._seen: set = set()

    def add(self, e: Entry) -> bool:
        if e.value.lo is None and e.value.hi is None:
            return False
        sig = (e.key, e.method, e.sources, e.value)
        if sig in self._seen:
            return False
        for old in self.entries.get(e.key, []):
            # derived from a fact already there, and no tighter than it: nothing new (circular)
            if e.derived and set(old.sources) <= set(e.sources) and _within(old.value, e.value):
                return False
        self._seen.add(sig)
        self.entries[e.key].append(e)
        return True

    def best(self, key: tuple) -> tuple[Interval, tuple[str, ...]] | None:
        entries = self.entries.get(key)
        if not entries:
            return None
        value, sources = Interval(None, None), set()
        for e in entries:
            value = value.intersect(e.value)
            sources |= set(e.sources)
        return None if value.empty else (value, tuple(sorted(sources)))


def check(fs: FigureSet, widened: bool = True) -> Report:
    """Everything the figures imply. `widened`: disputed and estimated figures count with
    their declared widening (else as reported, only rounded)."""
    book = _Book()
    for f in fs.figures:
        value = f.value if widened else f.reported
        book.add(Entry(f.key, value, f.status, (f.id,), f.id))
    for _ in range(ROUNDS):
        changed = _periods(book, fs) | _identities(book) | _containment(book, fs)
        if not changed:
            break
    report = Report(fs.figures, dict(book.entries))
    report.contradictions = _contradictions(book)
    report.annualised = [a for f in fs.figures if (a := annualise(f, fs.growth, widened))]
    return report


def _flows(book: _Book, fs: FigureSet):
    by: dict[tuple, list[tuple]] = defaultdict(list)
    for key in list(book.entries):
        entity, metric, scope, period = key
        if fs.catalog.metrics[metric].kind == "flow" and not period.instant:
            by[(entity, metric, scope)].append(key)
    return by


def _periods(book: _Book, fs: FigureSet) -> bool:
    changed = False
    for base, keys in _flows(book, fs).items():
        for k1, k2 in combinations(keys, 2):
            for a, b in ((k1, k2), (k2, k1)):
                pa, pb = a[3], b[3]
                ba, bb = book.best(a), book.best(b)
                if ba is None or bb is None:
                    continue
                if next_day(pa.end) == pb.start:  # adjacent: a then b
                    whole = (*base, Period(pa.start, pb.end))
                    changed |= book.add(
                        Entry(whole, ba[0] + bb[0], "sum of periods", _s(ba, bb), f"{a[3]} + {b[3]}")
                    )
                if pa.start <= pb.start and pb.end <= pa.end and pa != pb:  # b inside a
                    rest = _rest(pa, pb)
                    if rest:
                        key = (*base, rest)
                        changed |= book.add(
                            Entry(key, ba[0] - bb[0], "difference of periods", _s(ba, bb), f"{pa} - {pb}")
                        )
    return changed


def _rest(whole: Period, part: Period) -> Period | None:
    if whole.start == part.start and part.end < whole.end:
        return Period(next_day(part.end), whole.end)
    if whole.end == part.end and whole.start < part.start:
        return Period(whole.start, date.fromordinal(part.start.toordinal() - 1))
    return None


def _s(*bests) -> tuple[str, ...]:
    return tuple(sorted({s for b in bests for s in b[1]}))


def _identities(book: _Book) -> bool:
    changed = False
    for key in list(book.entries):
        entity, metric, scope, period = key
        if metric == "revenue_share":
            rate = _find(book, entity, "revenue_share_rate", scope, period)
            share = book.best(key)
            if rate and share:
                k = (entity, "revenue", scope, period)
                label = "revenue = revenue_share / revenue_share_rate"
                value = share[0].divide(rate[0])
                changed |= book.add(Entry(k, value, "revenue share / rate", _s(share, rate), label))
        if metric == "cash_burn" and not period.instant:
            # a balance rolls forward by its flow: cash at the start - burn = cash the day after the end
            opening = book.best((entity, "cash", scope, Period(period.start, period.start, instant=True)))
            burn = book.best(key)
            after = next_day(period.end)
            if opening and burn:
                k = (entity, "cash", scope, Period(after, after, instant=True))
                changed |= book.add(Entry(k, opening[0] - burn[0], "cash - burn", _s(opening, burn),
                                          "opening cash - net burn"))  # fmt: skip
            closing = book.best((entity, "cash", scope, Period(after, after, instant=True)))
            if closing and burn:
                k = (entity, "cash", scope, Period(period.start, period.start, instant=True))
                changed |= book.add(Entry(k, closing[0] + burn[0], "cash + burn", _s(closing, burn),
                                          "closing cash + net burn"))  # fmt: skip
        if metric == "cash_out":
            cin = book.best((entity, "cash_in", scope, period))
            out = book.best(key)
            if cin and out:
                k = (entity, "cash_burn", scope, period)
                changed |= book.add(Entry(k, out[0] - cin[0], "cash out - cash in", _s(out, cin), "net burn"))
    return changed


def _find(book: _Book, entity, metric, scope, period):
    """A ratio's value for a period: the same period, or the ratio of any period covering it."""
    for key in book.entries:
        if key[0] == entity and key[1] == metric and key[2] == scope:
            p = key[3]
            if p == period or (p.start <= period.start and period.end <= p.end) or p.instant:
                return book.best(key)
    return None


@money.exact
def _containment(book: _Book, fs: FigureSet) -> bool:
    changed = False
    keys = list(book.entries)
    for key in keys:
        best = book.best(key)
        if best is None:
            continue
        entity, metric, scope, period = key
        for whole_metric in fs.catalog.ancestors(metric):
            for sub in _subscopes(scope):
                whole = (entity, whole_metric, sub, period)
                if whole == key:
                    continue
                if best[0].lo is not None and best[0].lo > 0:
                    changed |= book.add(Entry(whole, Interval(best[0].lo, None), "part of it",
                                              best[1], f"≥ {describe(key)}"))  # fmt: skip
                wb = book.best(whole)
                if wb and wb[0].hi is not None:
                    changed |= book.add(Entry(key, Interval(None, wb[0].hi), "part of a whole", wb[1],
                                              f"≤ {describe(whole)}"))  # fmt: skip
    # disjoint parts: scopes that differ only in one key's value add up under the whole
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for key in keys:
        entity, metric, scope, period = key
        for i, (k, _) in enumerate(scope):
            rest = scope[:i] + scope[i + 1 :]
            groups[(entity, metric, rest, period, k)].append(key)
    for (entity, metric, rest, period, _), parts in groups.items():
        if len(parts) < 2:
            continue
        bests = [b for p in parts if (b := book.best(p)) and b[0].lo is not None]
        if len(bests) >= 2:
            total = sum((b[0].lo for b in bests), Decimal(0))
            whole = (entity, metric, rest, period)
            label = " + ".join(describe(p) for p in parts)
            changed |= book.add(
                Entry(whole, Interval(total, None), "sum of disjoint parts", _s(*bests), label)
            )
    return changed


def _subscopes(scope: tuple) -> list[tuple]:
    """Every scope with some of `scope`'s keys dropped (its wholes), including itself."""
    out = []
    n = len(scope)
    for mask in range(2**n):
        out.append(tuple(p for i, p in enumerate(scope) if mask >> i & 1))
    return out


def _contradictions(book: _Book) -> list[Contradiction]:
    out = []
    for key, entries in book.entries.items():
        for a, b in combinations(entries, 2):
            if set(a.sources) == set(b.sources) and a.derived and b.derived:
                continue  # two derivations from the same figures: not a new conflict
            gap = a.value.gap(b.value)
            if gap > 0:
                out.append(Contradiction(key, a, b, gap))
    return sorted(out, key=lambda c: -c.gap)


# -- run-rates, annualisation and projections -------------------------------------------


def growth_factor(months_known: int, months_total: int, g: Decimal) -> Decimal:
    """Total over `months_total` months / total over the first `months_known`, for monthly
    values growing geometrically at rate g (g = 0: in proportion to months)."""
    if g == 0:
        return money.divide(months_total, months_known)
    r = 1 + g
    return money.divide(money.power(r, months_total) - 1, money.power(r, months_known) - 1)


def annualise(f: Figure, growth: Interval, widened: bool = True) -> dict | None:
    """A flow over part of a calendar year, brought to the whole year, two labelled ways:
    linear (x 12 / months) and growth-based over the stated monthly growth range."""
    p = f.period
    if p.instant or p.start.month != 1 or p.start.day != 1 or p.start.year != p.end.year or p.months >= 12:
        return None
    value = f.value if widened else f.reported
    n = p.months
    linear = value.scale(money.divide(12, n))
    lo_g, hi_g = growth.lo or Decimal(0), growth.hi or Decimal(0)
    grown = Interval(
        None if value.lo is None else value.lo * growth_factor(n, 12, lo_g),
        None if value.hi is None else value.hi * growth_factor(n, 12, hi_g),
    )
    return {
        "figure": f.id, "period": str(p), "to": f"{p.start.year}-12-31", "months_known": n,
        "linear": linear, "growth": grown, "growth_range": (lo_g, hi_g),
    }  # fmt: skip


def project(report: Report, fs: FigureSet, spec: dict, seed: int = 20251112, draws: int = 20000) -> dict:
    """A flow projected to a later period end, over a growth range, with the probability of
    exceeding a threshold (Monte Carlo: value, growth and threshold uniform in their ranges)."""
    where = f"{fs.path}: projection {spec.get('id', '?')}"
    fig = next((f for f in fs.figures if f.id == spec.get("figure")), None)
    if fig is None or fig.period.instant:
        raise UsageError(f"{where}: figure must be the id of a flow figure")
    to = parse_date(spec.get("to"), where)
    if to <= fig.period.end:
        raise UsageError(f"{where}: `to` must be after the figure's period end {fig.period.end}")
    n = fig.period.months
    total = Period(fig.period.start, to).months
    g = spec.get("growth")
    growth = Interval(Decimal(str(g[0])), Decimal(str(g[1]))) if g else fs.growth
    value = fig.value
    projected = Interval(
        None if value.lo is None else value.lo * growth_factor(n, total, growth.lo or Decimal(0)),
        None if value.hi is None else value.hi * growth_factor(n, total, growth.hi or Decimal(0)),
    )
    out = {"id": spec.get("id", ""), "text": spec.get("text", ""), "figure": fig.id, "to": str(to),
           "growth_range": (growth.lo, growth.hi), "projected": projected, "sources": [fig.id]}  # fmt: skip
    threshold = spec.get("threshold")
    if threshold is not None:
        t_fig = next((f for f in fs.figures if f.id == str(threshold)), None)
        t_val = t_fig.value if t_fig else parse_amount(str(threshold), f"{where}: threshold")
        if t_fig:
            out["sources"].append(t_fig.id)
        out["threshold"] = t_val
        rng = np.random.default_rng(seed)
        v = _uniform(rng, value, draws)
        gr = rng.uniform(float(growth.lo or 0), float(growth.hi or 0), draws)
        ratio = np.where(
            gr == 0, total / n, ((1 + gr) ** total - 1) / np.where(gr == 0, 1, (1 + gr) ** n - 1)
        )
        t = _uniform(rng, t_val, draws)
        out["probability_exceeds"] = float(np.mean(v * ratio > t))
        out["method"] = f"Monte Carlo, {draws} draws, seed {seed}: value, growth and threshold uniform"
    return out


def _uniform(rng, value: Interval, draws: int):
    lo = float(value.lo if value.lo is not None else value.hi)
    hi = float(value.hi if value.hi is not None else value.lo)
    return rng.uniform(lo, hi, draws)
