"""Anomalies: points outside the band of a model fitted to the history before them, with
the size of the surprise and the charges that drive it.

Per series (a provider, service or model; by day or month), AutoETS is fitted on the first
`min_history` points and rolled forward one period at a time over the rest (statsforecast's
cross-validation with a one-period horizon, without refitting); a point outside its
`level`% band is flagged. On logs when every value is positive (a spike is a ratio).
Usage-based usage charges only: purchases, taxes, credits and recurring fees come on
their own calendar and are not surprises of consumption. The drivers are the resources
whose cost rose most against their mean of the periods before (7 days or 3 months).
"""

from __future__ import annotations

import math
import warnings
from datetime import date, datetime, timedelta
from decimal import Decimal

import ibis
import numpy as np

from computeledger import currency
from computeledger.errors import UsageError

BY = ("provider", "service", "model")
GRAINS = ("day", "month")


def _keyed(ledger, by: str | None, basis: str, rules_version: str | None):
    c = ledger.charges
    c = c.filter((c.ChargeCategory == "Usage") & ibis.coalesce(c.ChargeFrequency == "Usage-Based", True))
    cost = c.BilledCost if basis == "billed" else c.EffectiveCost
    cols = {
        "at": c.ChargePeriodStart,
        "resource": ibis.coalesce(c.ResourceId, c.SkuId, c.ChargeDescription, ibis.literal("(none)")),
    }
    if by == "model":
        from computeledger.allocate.engine import latest_version

        version = latest_version(ledger, rules_version)
        if version is None:
            raise UsageError("--by model reads the allocation: run `computeledger allocate` first")
        a = ledger.allocations
        a = a.filter(a.rules_version == version).select(
            "x_charge_id", am=ibis.coalesce(a.model, ibis.literal("(no model)")), ac=a.EffectiveCost
            if basis != "billed" else a.BilledCost,
        )  # fmt: skip
        j = a.inner_join(c, a.x_charge_id == c.x_charge_id)
        return j.select(key=j.am, value=j.ac, at=j.ChargePeriodStart, resource=cols["resource"])
    key = {
        "provider": ibis.coalesce(c.InvoiceIssuerName, c.ServiceProviderName),
        "service": ibis.coalesce(c.ServiceName, ibis.literal("(no service)")),
    }.get(by, ibis.literal("total"))
    return c.select(key=key, value=cost, **cols)


def anomalies(
    ledger,
    *,
    by: str | None = None,
    grain: str = "day",
    basis: str = "effective",
    level: int = 99,
    min_history: int | None = None,
    rules_version: str | None = None,
) -> list[dict]:
    """The flagged points, largest surprise first."""
    if by is not None and by not in BY:
        raise UsageError(f"--by {by!r}: use one of {', '.join(BY)}")
    if grain not in GRAINS:
        raise UsageError(f"--grain {grain!r}: use day or month")
    if level not in (80, 90, 95, 99):
        raise UsageError(f"--level {level}: use 80, 90, 95 or 99")
    if basis not in ("billed", "effective"):
        raise UsageError(f"--basis {basis!r}: anomalies read the charges: billed or effective")
    currency.of_bills(ledger)
    if not ledger.charges.count().to_pyarrow().as_py():
        raise UsageError("no charges in the ledger: nothing to scan (ingest bills first)")
    season = 7 if grain == "day" else 1
    need = min_history or (28 if grain == "day" else 8)
    t = _keyed(ledger, by, basis, rules_version)
    t = t.mutate(period=t.at.truncate("D" if grain == "day" else "M").date())
    rows = t.group_by("key", "period").aggregate(value=t.value.sum()).to_pyarrow().to_pylist()
    series: dict[str, dict[date, Decimal]] = {}
    for r in rows:
        p = r["period"].date() if isinstance(r["period"], datetime) else r["period"]
        series.setdefault(r["key"] or "(none)", {})[p] = r["value"] or Decimal(0)
    flagged = []
    for key in sorted(series):
        flagged += _scan(key, _fill(series[key], grain), grain, season, need, level)
    for f in flagged:
        f["drivers"] = _drivers(t, f, grain, season if grain == "day" else 3)
    flagged.sort(key=lambda f: -abs(f["surprise"]))
    return flagged


def _fill(points: dict[date, Decimal], grain: str) -> list[tuple[date, Decimal]]:
    """Every period from the first to the last: a period without charges cost 0."""
    from computeledger.accounting.periods import add_months

    out, p, last = [], min(points), max(points)
    while p <= last:
        out.append((p, points.get(p, Decimal(0))))
        p = p + timedelta(days=1) if grain == "day" else add_months(p, 1)
    return out


def _scan(key, points, grain, season, need, level) -> list[dict]:
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    if len(points) <= need:
        return []
    values = np.array([float(v) for _, v in points])
    log = bool(np.all(values > 0))
    y = np.log(values) if log else values
    if np.ptp(y[:need]) == 0 and np.ptp(y) == 0:
        return []
    df = pd.DataFrame({"unique_id": key, "ds": [pd.Timestamp(p) for p, _ in points], "y": y})
    engine = StatsForecast(
        models=[AutoETS(season_length=season if need >= 2 * season else 1)],
        freq="D" if grain == "day" else "MS",
        n_jobs=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = engine.cross_validation(
            df=df, h=1, n_windows=len(points) - need, step_size=1, level=[level], refit=False
        )
    out = []
    inv = np.exp if log else (lambda x: x)
    lows, highs = cv[f"AutoETS-lo-{level}"].to_numpy(float), cv[f"AutoETS-hi-{level}"].to_numpy(float)
    q, r3 = Decimal("0.01"), Decimal("0.001")
    mids, ys = cv["AutoETS"].to_numpy(float), cv["y"].to_numpy(float)
    for ds, yv, mid, lo, hi in zip(cv["ds"], ys, mids, lows, highs, strict=True):
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= yv <= hi:
            continue
        expected, actual = float(inv(mid)), float(inv(yv))
        out.append({
            "series": key,
            "period": ds.date(),
            "actual": _dec(actual, q),
            "expected": _dec(expected, q),
            "band_low": _dec(float(inv(lo)), q),
            "band_high": _dec(float(inv(hi)), q),
            "surprise": _dec(actual - expected, q),
            "ratio": _dec(actual / expected, r3) if expected else None,
        })  # fmt: skip
    return out


def _dec(v: float, q: Decimal) -> Decimal:
    return Decimal(repr(v)).quantize(q)


def _drivers(t, f: dict, grain: str, before: int) -> str:
    """The three resources whose cost rose most in the flagged period against their mean
    of the `before` periods preceding it."""
    from computeledger.accounting.periods import add_months

    p = f["period"]
    first = p - timedelta(days=before) if grain == "day" else add_months(p, -before)
    s = t.filter((t.key == f["series"]) & (t.period >= first) & (t.period <= p))
    g = s.group_by("resource").aggregate(
        now=s.value.sum(where=s.period == p), then=s.value.sum(where=s.period < p)
    )
    rows = g.to_pyarrow().to_pylist()
    rises = []
    for r in rows:
        now = r["now"] or Decimal(0)
        then = (r["then"] or Decimal(0)) / before
        rises.append((now - then, r["resource"]))
    rises.sort(key=lambda x: (-x[0], str(x[1])))
    return "; ".join(f"{res} (+{rise.quantize(Decimal('0.01')):,})" for rise, res in rises[:3] if rise > 0)
