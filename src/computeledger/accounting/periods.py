"""Months and the periods they roll up into (month, quarter, year), as labels and ranges."""

from __future__ import annotations

import re
from datetime import date, datetime

from computeledger.errors import UsageError

GRAINS = ("month", "quarter", "year")
FIRST_YEAR, LAST_YEAR = 1900, 9998  # a bill's years; the month after the last still has a date


def month_of(value: date | datetime) -> date:
    """The first day of the month `value` falls in."""
    return date(value.year, value.month, 1)


def add_months(month: date, n: int) -> date:
    """The first of the month `n` months after `month` (n may be negative)."""
    k = month.year * 12 + month.month - 1 + n
    if not 1 <= k // 12 <= 9999:
        raise UsageError(
            f"{month:%Y-%m} and {n} month(s) on: past the calendar's range "
            f"(dates from {FIRST_YEAR} to {LAST_YEAR} are read)"
        )
    return date(k // 12, k % 12 + 1, 1)


def label(month: date, grain: str) -> str:
    """'2025-07', '2025-Q3' or '2025': the period of `grain` that `month` falls in."""
    if grain == "month":
        return f"{month:%Y-%m}"
    if grain == "quarter":
        return f"{month.year}-Q{(month.month - 1) // 3 + 1}"
    if grain == "year":
        return str(month.year)
    raise UsageError(f"--period {grain!r}: use one of {', '.join(GRAINS)}")


def parse(text: str) -> tuple[date, date, str]:
    """A period as written ('2025', '2025-Q3', '2025-07') -> first month, month after its
    last, and its grain."""
    t = str(text).strip()
    if (m := re.match(r"([0-9]{4})(?![0-9])", t)) and not FIRST_YEAR <= int(m[1]) <= LAST_YEAR:
        raise UsageError(f"period {text!r}: write a year from {FIRST_YEAR} to {LAST_YEAR}")
    if m := re.fullmatch(r"([0-9]{4})", t):
        y = int(m[1])
        return date(y, 1, 1), date(y + 1, 1, 1), "year"
    if m := re.fullmatch(r"([0-9]{4})-?[Qq]([1-4])", t):
        first = date(int(m[1]), 3 * int(m[2]) - 2, 1)
        return first, add_months(first, 3), "quarter"
    if m := re.fullmatch(r"([0-9]{4})-([0-9]{2})", t):
        if not 1 <= int(m[2]) <= 12:
            raise UsageError(f"period {text!r}: no month {m[2]}")
        first = date(int(m[1]), int(m[2]), 1)
        return first, add_months(first, 1), "month"
    raise UsageError(f"period {text!r}: write a year (2025), a quarter (2025-Q3) or a month (2025-07)")


def months(first: date, end: date) -> list[date]:
    """The months from `first` up to, not including, `end`."""
    out, m = [], month_of(first)
    while m < end:
        out.append(m)
        m = add_months(m, 1)
    return out
