"""Decimal arithmetic on money and shares, in one place: one context, explicit rounding.

Python's default decimal context keeps 28 digits, fewer than the ledger's 38: code that
adds ledger values in Python runs under `exact` (this module's 50-digit context). Every
division of money or of a share runs here:

- `divide`: a quotient to 50 significant digits, rounded half-even (enough that any
  later truncation to 12 or 18 decimals is the truncation of the exact quotient for
  the ledger's 38-digit values);
- `share`: a part of a whole truncated to 12 decimals (the allocation's shares: the last
  part takes the remainder, so parts still add up exactly);
- `divide_down` / `divide_up`: quotients rounded toward -inf / +inf, so an interval
  divided by another only ever widens.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

PRECISION = 50
SHARE_PLACES = 12
_TRAPS = [DivisionByZero, InvalidOperation, Overflow]
CONTEXT = Context(prec=PRECISION, rounding=ROUND_HALF_EVEN, traps=_TRAPS)
_FLOOR = Context(prec=PRECISION, rounding=ROUND_FLOOR, traps=_TRAPS)
_CEILING = Context(prec=PRECISION, rounding=ROUND_CEILING, traps=_TRAPS)


def divide(a: Decimal | int, b: Decimal | int) -> Decimal:
    """a / b to 50 significant digits, half-even; dividing by zero raises."""
    return CONTEXT.divide(Decimal(a), Decimal(b))


def share(part: Decimal | int, whole: Decimal | int, places: int = SHARE_PLACES) -> Decimal:
    """part / whole truncated (toward zero) to `places` decimals."""
    return divide(part, whole).quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN, context=CONTEXT)


def divide_down(a: Decimal, b: Decimal) -> Decimal:
    """a / b rounded toward -inf: a lower bound of the exact quotient."""
    return _FLOOR.divide(a, b)


def divide_up(a: Decimal, b: Decimal) -> Decimal:
    """a / b rounded toward +inf: an upper bound of the exact quotient."""
    return _CEILING.divide(a, b)


def power(base: Decimal, exponent: int) -> Decimal:
    """base ** exponent (an integer exponent) to 50 significant digits."""
    return CONTEXT.power(Decimal(base), exponent)


def exact(fn: Callable) -> Callable:
    """Run `fn` with CONTEXT as the decimal context: sums and differences of the ledger's
    38-digit values stay exact (Python's default context keeps 28 digits)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with localcontext(CONTEXT):
            return fn(*args, **kwargs)

    return wrapper


_SPREAD_PLACES = Decimal(1).scaleb(-18)


@exact
def spread(total: Decimal | None, weights: list[int | Decimal]) -> list[Decimal | None]:
    """`total` in parts proportional to `weights`: each part the total times its share (to
    18 decimals, toward zero), the last part of non-zero weight the remainder; exact sum.
    A weight of 0 gets exactly 0 (never a rounding residue). None stays None."""
    if total is None:
        return [None] * len(weights)
    whole = sum(weights)
    if not weights or whole == 0:
        return [None] * len(weights)
    last = max(i for i, w in enumerate(weights) if w)
    parts = [
        (total * divide(w, whole)).quantize(_SPREAD_PLACES, rounding="ROUND_DOWN", context=CONTEXT)
        if w and i != last
        else Decimal(0)
        for i, w in enumerate(weights)
    ]
    parts[last] = total - sum(parts, Decimal(0))
    return parts


def text(value: Decimal | None, places: int = 2) -> str:
    """Money as a reader sees it in a sentence: to the cent (or `places`), thousands
    separated, never an exponent ('1,900,014.34', '0.00'); None is 'unknown'."""
    if value is None:
        return "unknown"
    q = value.quantize(Decimal(1).scaleb(-places), rounding="ROUND_HALF_EVEN", context=CONTEXT)
    out = f"{q:,f}"
    return out[1:] if out.startswith("-") and not q else out
