"""Reported figures as data: intervals, periods, scopes and sources.

A figure's value is read as an interval: `8.7B` as stated to a tenth of a billion is
[8.65B, 8.75B] (half a unit of its last digit either way); `>12B` is [12B, +inf);
`3.5B..4B` is itself; suffixes K, M, B (billion) and T are exact powers of ten. Disputed
and estimated figures are widened by the rules the file declares (or the defaults).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from computeledger import money
from computeledger.errors import UsageError

SUFFIX = {
    "": 0, "K": 3, "THOUSAND": 3, "M": 6, "MN": 6, "MM": 6, "MILLION": 6, "B": 9, "BN": 9, "BILLION": 9,
    "T": 12, "TN": 12, "TRILLION": 12,
}  # fmt: skip
STATUSES = ("reported", "disputed", "estimate")


@dataclass(frozen=True)
class Interval:
    """A closed interval; None is an open end (-inf below, +inf above)."""

    lo: Decimal | None
    hi: Decimal | None

    def __add__(self, other: Interval) -> Interval:
        return Interval(_opt(self.lo, other.lo, Decimal.__add__), _opt(self.hi, other.hi, Decimal.__add__))

    def __sub__(self, other: Interval) -> Interval:
        return Interval(_opt(self.lo, other.hi, Decimal.__sub__), _opt(self.hi, other.lo, Decimal.__sub__))

    def scale(self, factor: Decimal) -> Interval:
        lo, hi = (None if v is None else v * factor for v in (self.lo, self.hi))
        return Interval(lo, hi) if factor >= 0 else Interval(hi, lo)

    def divide(self, other: Interval) -> Interval:
        """self / other for a positive `other` (a rate or share): the widest quotient. A
        larger divisor moves a quotient towards 0; an unbounded one, all the way."""
        a, b = other.lo, other.hi
        if a is None or a <= 0:
            return Interval(None, None)

        # quotients rounded outward: the lower end down, the upper end up
        if self.lo is None:
            lo = None
        elif self.lo < 0:
            lo = money.divide_down(self.lo, a)
        else:
            lo = money.divide_down(self.lo, b) if b is not None else Decimal(0)
        if self.hi is None:
            hi = None
        elif self.hi > 0:
            hi = money.divide_up(self.hi, a)
        else:
            hi = money.divide_up(self.hi, b) if b is not None else Decimal(0)
        return Interval(lo, hi)

    def intersect(self, other: Interval) -> Interval:
        lo = max((v for v in (self.lo, other.lo) if v is not None), default=None)
        hi = min((v for v in (self.hi, other.hi) if v is not None), default=None)
        return Interval(lo, hi)

    @property
    def empty(self) -> bool:
        return self.lo is not None and self.hi is not None and self.lo > self.hi

    def gap(self, other: Interval) -> Decimal:
        """How far apart two intervals are (0 if they meet)."""
        if self.hi is not None and other.lo is not None and self.hi < other.lo:
            return other.lo - self.hi
        if other.hi is not None and self.lo is not None and other.hi < self.lo:
            return self.lo - other.hi
        return Decimal(0)

    def widen(self, share: Decimal) -> Interval:
        lo = None if self.lo is None else self.lo - abs(self.lo) * share
        hi = None if self.hi is None else self.hi + abs(self.hi) * share
        return Interval(lo, hi)


def _opt(a, b, op):
    return None if a is None or b is None else op(a, b)


@dataclass(frozen=True)
class Source:
    publisher: str = ""
    title: str = ""
    url: str = ""
    date: str = ""

    def __str__(self) -> str:
        return ", ".join(x for x in (self.publisher, self.title, self.date) if x)


@dataclass(frozen=True)
class Period:
    """[start, end] inclusive dates for a flow; start == end == the date for a balance."""

    start: date
    end: date
    instant: bool = False

    def __str__(self) -> str:
        if self.instant:
            return f"at {self.start}"
        return f"{self.start}..{self.end}"

    @property
    def months(self) -> int:
        """Whole calendar months covered (a flow's period runs from a 1st to a month end)."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1


@dataclass(frozen=True)
class Figure:
    id: str
    entity: str
    metric: str
    period: Period
    scope: tuple[tuple[str, str], ...]  # sorted key=value pairs
    stated: str  # the value as written
    value: Interval  # after rounding and the status's widening
    reported: Interval  # as stated: the rounding of its last digit only
    currency: str
    source: Source
    status: str
    note: str = ""
    line: int = 0
    sources: tuple[str, ...] = field(default=())  # for derived figures: the ids they come from

    @property
    def key(self) -> tuple:
        return (self.entity, self.metric, self.scope, self.period)


_SYMBOLS = {"US$": "USD", "USD": "USD", "$": "USD", "€": "EUR", "EUR": "EUR", "£": "GBP", "GBP": "GBP"}


def stated_currency(text: str) -> str | None:
    """The currency a value names by its symbol or code (`$8.7B`, `€3B`), if any."""
    t = text.strip().lstrip("~<>=").upper()
    return next((code for sym, code in _SYMBOLS.items() if t.startswith(sym)), None)


def parse_amount(text: str, where: str) -> Interval:
    """A stated value as an interval (a point widened by the rounding of its last digit)."""
    try:
        value = _amount(text, where)
        for end in (value.lo, value.hi):
            if end is not None and (
                not end.is_finite() or end.adjusted() > 30 or len(end.as_tuple().digits) > 40
            ):
                raise UsageError(where)
        return value
    except (UsageError, ArithmeticError, ValueError):
        raise UsageError(
            f"{where}: not an amount: {text!r} (e.g. 8.7B, 12 billion, >12B, 3.5B..4B)"
        ) from None


def _amount(text: str, where: str) -> Interval:
    t = text.strip().replace(",", "").replace(" ", "")
    t = re.sub(r"^(~|[<>]=?)?(?:US\$|USD|\$|€|EUR|£|GBP)", r"\1", t, flags=re.I)
    t = re.sub(r"\.\.(?:US\$|USD|\$|€|EUR|£|GBP)", "..", t, flags=re.I)
    if not t:
        raise UsageError(f"{where}: no value")
    if ".." in t:
        a, b = t.split("..", 1)
        lo, hi = _number(a, where), _number(b, where)
        if lo > hi:
            raise UsageError(f"{where}: the interval {text!r} runs backwards")
        return Interval(lo, hi)
    for prefix, make in ((">=", "lo"), ("<=", "hi"), (">", "lo"), ("<", "hi")):
        if t.startswith(prefix):
            v = _number(t[len(prefix) :], where)
            return Interval(v, None) if make == "lo" else Interval(None, v)
    v = _number(t.lstrip("~"), where)
    half = _half_unit(t.lstrip("~"))
    return Interval(v - half, v + half)


_NUMBER = re.compile(r"^(-?\d+(?:\.\d+)?)([A-Za-z]*)$")


def _number(text: str, where: str) -> Decimal:
    m = _NUMBER.match(text.strip())
    if not m or m.group(2).upper() not in SUFFIX:
        raise UsageError(f"{where}: not an amount: {text!r} (e.g. 8.7B, >12B, 3.5B..4B)")
    try:
        return Decimal(m.group(1)).scaleb(SUFFIX[m.group(2).upper()])
    except InvalidOperation as exc:
        raise UsageError(f"{where}: not an amount: {text!r}") from exc


def parse_number(value, where: str) -> Decimal:
    """An exact quantity as written: 608B, 1.5M, 3700000, or a YAML number."""
    if isinstance(value, bool):
        raise UsageError(f"{where}: not a number: {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return _number(str(value).replace(",", "").replace("_", ""), where)


def _half_unit(text: str) -> Decimal:
    """Half a unit of the last stated digit: 8.7B -> 0.05B; 12B -> 0.5B; 3700000 -> 0.5."""
    m = _NUMBER.match(text)
    assert m
    digits = m.group(1)
    places = len(digits.split(".")[1]) if "." in digits else 0
    return Decimal(5).scaleb(-places - 1 + SUFFIX[m.group(2).upper()])


def parse_date(text, where: str) -> date:
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError as exc:
        raise UsageError(f"{where}: not a date (YYYY-MM-DD): {text!r}") from exc


_QUARTER = re.compile(r"^(\d{4})-?([QH])([1-4])$", re.I)


def _span(text: str, where: str) -> tuple[date, date]:
    """`_span_of`, with years the arithmetic of periods can carry (1900 to 9998)."""
    try:
        first, last = _span_of(text, where)
    except (ValueError, OverflowError):
        raise UsageError(f"{where}: not a period: {text!r}") from None
    if first.year < 1900 or last.year > 9998:
        raise UsageError(f"{where}: {text!r}: a period within the years 1900 to 9998")
    return first, last


def _span_of(text: str, where: str) -> tuple[date, date]:
    """A period written as a year (2025, CY2025), half (2025-H1, H1 2025), quarter (2025-Q3,
    Q3 2025), month (2025-07) or day (2025-07-15): its first and last day."""
    t = text.strip()
    m = re.fullmatch(r"([QH][1-4])[\s-]*(\d{4})", t, re.I)
    if m:
        t = f"{m.group(2)}-{m.group(1)}"
    if re.match(r"^FY", t, re.I):
        raise UsageError(
            f"{where}: {text!r}: fiscal years differ by company; write the dates (2024-07-01..2025-06-30)"
        )
    t = re.sub(r"^CY\s*(\d{4})$", r"\1", t, flags=re.I)
    t = re.sub(r"^(\d{4})\s+([QH][1-4])$", r"\1-\2", t, flags=re.I)
    if re.fullmatch(r"\d{4}", t):
        return date(int(t), 1, 1), date(int(t), 12, 31)
    m = _QUARTER.match(t)
    if m:
        year, kind, n = int(m.group(1)), m.group(2).upper(), int(m.group(3))
        if kind == "H" and n > 2:
            raise UsageError(f"{where}: a year has two halves: {text!r}")
        months = 3 if kind == "Q" else 6
        first = (n - 1) * months + 1
        return date(year, first, 1), _month_end(year, first + months - 1)
    if re.fullmatch(r"\d{4}-\d{2}", t):
        year, month = (int(x) for x in t.split("-"))
        if not 1 <= month <= 12:
            raise UsageError(f"{where}: not a month: {text!r}")
        return date(year, month, 1), _month_end(year, month)
    d = parse_date(t, where)
    return d, d


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def parse_period_text(text: str, where: str) -> Period:
    """`2025-01-01..2025-09-30`, `2025-Q1..2025-Q3`, `2025`, `2025-H1`, `2024-01..2025-09`."""
    a, _, b = str(text).partition("..")
    start = _span(a, where)[0]
    end = _span(b or a, where)[1]
    if end < start:
        raise UsageError(f"{where}: period_end {end} is before period_start {start}")
    return Period(start, end)


def parse_period(start, end, instant, where: str) -> Period:
    if instant not in (None, ""):
        d = parse_date(instant, where)
        return Period(d, d, instant=True)
    if start in (None, "") or end in (None, ""):
        raise UsageError(f"{where}: a flow needs period_start and period_end (a balance: instant)")
    a = start if isinstance(start, date) else _span(str(start), where)[0]
    b = end if isinstance(end, date) else _span(str(end), where)[1]
    if b < a:
        raise UsageError(f"{where}: period_end {b} is before period_start {a}")
    return Period(a, b)


#: The scope key of the free-text parts of a scope ('net revenue share', 'company total').
QUALIFIER = "qualifier"


def parse_scope(text, where: str) -> tuple[tuple[str, str], ...]:
    """'provider=azure; workload=inference' (or a mapping) as sorted lowercase pairs. A part
    without '=' ('payer=OpenAI; net revenue share') is a free-text qualifier of the figure,
    kept under QUALIFIER (several joined by '; '): shown with it and part of its identity,
    never a refusal."""
    if isinstance(text, dict):
        items = [(str(k), str(v)) for k, v in text.items()]
    else:
        items, free = [], []
        for part in re.split(r"[;|]", str(text or "")):
            if not part.strip():
                continue
            if "=" not in part:
                free.append(" ".join(part.split()))
                continue
            k, v = part.split("=", 1)
            if not k.strip():
                raise UsageError(f"{where}: a scope part has no key before '=': {part.strip()!r}")
            items.append((k, v))
        if free:
            items.append((QUALIFIER, "; ".join(free)))
    pairs = {(k.strip().lower(), v.strip().lower()) for k, v in items}
    if len({k for k, _ in pairs}) != len(pairs):
        raise UsageError(f"{where}: a scope key is given twice: {text!r}")
    return tuple(sorted(pairs))


def next_day(d: date) -> date:
    return d + timedelta(days=1)
