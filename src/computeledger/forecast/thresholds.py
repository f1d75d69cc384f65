"""Threshold questions over sample paths (draws x periods): the probability that a series
crosses a value by a date, and the distribution of the period it first does (runway: the
month cash goes below zero). Every probability is a plain count over the draws."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from computeledger.errors import UsageError

_SUFFIX = {"k": 3, "m": 6, "b": 9, "t": 12}


def parse_amount(text: str, option: str = "--above") -> Decimal:
    """'9B', '1.5M', '250k', '-2000000': an exact amount (suffixes k, M, B, T)."""
    t = str(text).strip()
    if "," in t:  # only as a thousands separator: 1,500,000 (never 1,5M for 1.5M)
        if not re.fullmatch(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?[kKmMbBtT]?", t):
            raise UsageError(
                f"{option} {text!r}: a comma only between thousands (1,500,000); 1.5M is 1,500,000"
            )
        t = t.replace(",", "")
    m = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)([kKmMbBtT]?)", t)
    if not m:
        raise UsageError(f"{option} {text!r}: write an amount such as 9B, 1.5M, 250k or 2000000")
    try:
        value = Decimal(m.group(1))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only digits
        raise UsageError(f"{option} {text!r}: not an amount") from exc
    return value.scaleb(_SUFFIX.get(m.group(2).lower(), 0))


def parse_deadline(text: str) -> date:
    """The last day a crossing counts: 2025-12-31, 2025-12, 2025-Q4 or 2025 (its end)."""
    from computeledger.accounting.periods import add_months, parse

    t = str(text).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
            return date.fromisoformat(t)
        _, end, _ = parse(t)
    except (ValueError, UsageError) as exc:
        raise UsageError(f"--by {text!r}: write a date: 2025-12-31, 2025-12, 2025-Q4 or 2025") from exc
    return date.fromordinal(add_months(end, 0).toordinal() - 1)


def _last_day(periods: list[date]) -> date:
    """The last day the last period covers: a month's end, or a week's (periods a week apart)."""
    from datetime import timedelta

    from computeledger.accounting.periods import add_months

    last = periods[-1]
    weekly = len(periods) > 1 and (last - periods[-2]).days == 7
    if weekly or last.day != 1:
        return last + timedelta(days=6)
    return add_months(last, 1) - timedelta(days=1)


def crossing(
    paths: np.ndarray,
    periods: list[date],
    *,
    above: Decimal | None = None,
    below: Decimal | None = None,
    by: date | None = None,
    cumulative: bool = False,
) -> dict[str, Any]:
    """P(the series goes above `above` / below `below` in a period starting on or before
    `by`), and the first such period's 10th, 50th and 90th percentile over all draws (a
    draw that never crosses counts as 'after' the last period)."""
    if (above is None) == (below is None):
        raise UsageError("give one of --above or --below")
    if by is not None and periods and by > _last_day(periods):
        raise UsageError(
            f"--by {by}: past the forecast's last period ({periods[-1]}); raise --horizon to reach it "
            "(a crossing after the horizon is not counted, so the probability would be too low)"
        )
    values = np.cumsum(paths, axis=1) if cumulative else paths
    k = sum(1 for p in periods if by is None or p <= by)
    if k == 0:
        raise UsageError(f"--by {by}: before the first forecast period {periods[0]}")
    hit = values[:, :k] > float(above) if above is not None else values[:, :k] < float(below or 0)
    crossed = hit.any(axis=1)
    first = np.where(crossed, hit.argmax(axis=1), k)
    draws = len(values)
    return {
        "threshold": above if above is not None else below,
        "direction": "above" if above is not None else "below",
        "by": periods[k - 1] if by is None else by,
        "cumulative": cumulative,
        "draws": draws,
        "crossings": int(crossed.sum()),
        "probability": Decimal(int(crossed.sum())) / Decimal(draws),
        "first_p10": _period(first, 10, periods[:k]),
        "first_median": _period(first, 50, periods[:k]),
        "first_p90": _period(first, 90, periods[:k]),
    }


def _period(first: np.ndarray, q: int, periods: list[date]) -> str:
    i = int(np.percentile(first, q, method="inverted_cdf"))
    return f"{periods[i]:%Y-%m-%d}" if i < len(periods) else f"after {periods[-1]:%Y-%m-%d}"
