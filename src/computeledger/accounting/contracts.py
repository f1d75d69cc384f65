"""What the bills do not say, from a contracts file (TOML, parsed, never evaluated):
payment terms, commitments outside the bills, credit grants, revenue-share agreements.

    [payment_terms]              # days after a billing period ends that its bill is paid
    default = 30                 # when no bank line shows the payment (labelled estimated)
    Microsoft = 20

    [[commitments]]              # a contract the bills do not show (or the term of one they do)
    id = "cw-capacity-2025"
    provider = "CoreWeave"
    total = "12000000.00"
    currency = "USD"
    start = 2025-01-01
    months = 36
    workload = "training"        # where its amortization goes [default: other]
    payments = [{ date = 2025-01-15, amount = "4000000.00" }]   # [default: all at start]

    [[credits]]
    id = "gcp-startup"
    provider = "Google Cloud"
    amount = "750000.00"
    currency = "USD"
    start = 2024-01-01
    expires = 2025-01-01

    [[revenue_share]]
    partner = "Microsoft"
    rate = "0.20"
    channels = ["cloud-partner"]   # [default: every channel]
    models = []                    # [default: every model]
    settlement = "month"           # or quarter
    lag_days = 20

Money is a string or an integer (a TOML float is refused: it is not exact).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from computeledger import money
from computeledger.accounting.periods import FIRST_YEAR, LAST_YEAR
from computeledger.errors import UsageError

MONEY_BOUND = Decimal(10) ** 20  # the ledger's DECIMAL(38, 18) holds 20 digits before the point

DEFAULT_PAYMENT_DAYS = 30


@dataclass(frozen=True)
class Commitment:
    """A commitment contract: total, term in months from `start`, and its payments."""

    id: str
    provider: str
    total: Decimal
    currency: str
    start: date
    months: int
    payments: tuple[tuple[date, Decimal], ...]
    workload: str = "other"


@dataclass(frozen=True)
class Grant:
    """A credit grant: an amount usable from `start` until `expires` against a provider's bills."""

    id: str
    provider: str
    amount: Decimal
    currency: str
    start: date | None
    expires: date | None


@dataclass(frozen=True)
class Agreement:
    """A revenue-share agreement: a rate of a partner's channels' (or models') revenue,
    settled per month or quarter and paid `lag_days` after the settlement period."""

    partner: str
    rate: Decimal
    channels: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    settlement: str = "month"
    lag_days: int = 0


@dataclass(frozen=True)
class Contracts:
    """Everything a contracts file holds (empty when there is none)."""

    payment_days: dict[str, int] = field(default_factory=dict)
    default_days: int = DEFAULT_PAYMENT_DAYS
    commitments: tuple[Commitment, ...] = ()
    credits: tuple[Grant, ...] = ()
    agreements: tuple[Agreement, ...] = ()
    path: str | None = None

    def days(self, provider: str) -> int:
        """Payment terms of `provider`, in days after its billing period ends."""
        return self.payment_days.get(provider, self.default_days)


def load_contracts(path: Contracts | str | Path | None) -> Contracts:
    """The contracts file at `path`; None: none (the CLI and the server pass the file
    ./computeledger.toml names, `config.Settings.contracts`); contracts already parsed
    (the server parses its file once) as they are."""
    if isinstance(path, Contracts):
        return path
    if path is None:
        return Contracts()
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such contracts file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise UsageError(f"{path}: not TOML: {str(exc) or 'nested too deep'}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the contracts: {exc.strerror}") from None
    _known(doc, {"payment_terms", "commitments", "credits", "revenue_share"}, str(path))
    terms = doc.get("payment_terms", {})
    if not isinstance(terms, dict):
        raise UsageError(f"{path}: payment_terms is a table of provider = days")
    days = {str(k): _int(v, f"{path}: payment_terms.{k}", 0, 3650) for k, v in terms.items()}
    default = days.pop("default", DEFAULT_PAYMENT_DAYS)
    commitments = tuple(
        _commitment(c, f"{path}: commitments[{i}]") for i, c in enumerate(_list(doc, "commitments", path))
    )
    grants = tuple(_grant(c, f"{path}: credits[{i}]") for i, c in enumerate(_list(doc, "credits", path)))
    _unique(commitments, f"{path}: commitments")
    _unique(grants, f"{path}: credits")
    shares = tuple(
        _agreement(c, f"{path}: revenue_share[{i}]") for i, c in enumerate(_list(doc, "revenue_share", path))
    )
    return Contracts(days, default, commitments, grants, shares, str(path))


def _unique(items: tuple, where: str) -> None:
    """Refuse two contracts of one id (each would count: a grant used up twice)."""
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.id in seen:
            raise UsageError(
                f"{where}[{seen[item.id]}] and [{i}]: the id {item.id!r} twice; give each its own"
            )
        seen[item.id] = i


def _currency(value, where: str) -> str:
    """An ISO 4217 code (USD, EUR): never a symbol or a number, which name no one currency."""
    text = _text(value, where)
    if not re.fullmatch(r"[A-Za-z]{3}", text):
        raise UsageError(f"{where}: {value!r}: a three-letter ISO 4217 code such as USD or EUR")
    return text.upper()


def _list(doc: dict, key: str, path) -> list[dict]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise UsageError(f"{path}: {key} is a list of tables ([[{key}]])")
    return value


def _known(doc: dict, keys: set[str], where: str) -> None:
    unknown = sorted(set(doc) - keys)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(keys))})")


def _need(doc: dict, key: str, where: str):
    if key not in doc:
        raise UsageError(f"{where}: {key} is missing")
    return doc[key]


def _money(value, where: str) -> Decimal:
    if isinstance(value, (bool, float)):
        raise UsageError(f'{where}: {value!r}: write money as a string ("{value}"), a float is not exact')
    try:
        out = Decimal(str(value).strip())
    except InvalidOperation:
        raise UsageError(f"{where}: {value!r} is not a number") from None
    if not out.is_finite():
        raise UsageError(f"{where}: {value!r} is not a number")
    if abs(out) >= MONEY_BOUND:
        raise UsageError(f"{where}: {value!r}: past the ledger's range (under 10^20)")
    return out


def _int(value, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"{where}: {value!r}: a whole number from {low} to {high}")
    return value


def _date(value, where: str) -> date:
    if isinstance(value, datetime):
        raise UsageError(f"{where}: {value!r}: a date (YYYY-MM-DD), not a time")
    try:
        out = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise UsageError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None
    if not FIRST_YEAR <= out.year <= LAST_YEAR:
        raise UsageError(f"{where}: {value!r}: a year from {FIRST_YEAR} to {LAST_YEAR}")
    return out


def _text(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: {value!r}: a non-empty string")
    return value.strip()


@money.exact
def _commitment(c: dict, where: str) -> Commitment:
    _known(c, {"id", "provider", "total", "currency", "start", "months", "payments", "workload"}, where)
    total = _money(_need(c, "total", where), f"{where}.total")
    start = _date(_need(c, "start", where), f"{where}.start")
    payments = []
    for i, p in enumerate(c.get("payments", [])):
        if not isinstance(p, dict):
            raise UsageError(f'{where}.payments[{i}]: a table {{ date = ..., amount = "..." }}')
        _known(p, {"date", "amount"}, f"{where}.payments[{i}]")
        payments.append(
            (
                _date(_need(p, "date", where), f"{where}.payments[{i}].date"),
                _money(_need(p, "amount", where), f"{where}.payments[{i}].amount"),
            )
        )
    if not payments:
        payments = [(start, total)]
    paid = sum((a for _, a in payments), Decimal(0))
    if total <= 0:
        raise UsageError(f"{where}.total: {total} is not a positive commitment")
    if any(a <= 0 for _, a in payments):
        raise UsageError(f"{where}.payments: every payment is a positive amount")
    if paid != total:
        raise UsageError(f"{where}: payments add up to {paid}, not the total {total}")
    return Commitment(
        id=_text(_need(c, "id", where), f"{where}.id"),
        provider=_text(_need(c, "provider", where), f"{where}.provider"),
        total=total,
        currency=_currency(_need(c, "currency", where), f"{where}.currency"),
        start=start,
        months=_int(_need(c, "months", where), f"{where}.months", 1, 600),
        payments=tuple(sorted(payments)),
        workload=_text(c.get("workload", "other"), f"{where}.workload"),
    )


def _grant(c: dict, where: str) -> Grant:
    _known(c, {"id", "provider", "amount", "currency", "start", "expires"}, where)
    start = _date(c["start"], f"{where}.start") if "start" in c else None
    expires = _date(c["expires"], f"{where}.expires") if "expires" in c else None
    if start and expires and expires <= start:
        raise UsageError(f"{where}: expires {expires} is not after start {start}")
    amount = _money(_need(c, "amount", where), f"{where}.amount")
    if amount <= 0:
        raise UsageError(f"{where}.amount: {amount} is not a positive grant")
    return Grant(
        id=_text(c.get("id", c.get("provider", "")), f"{where}.id"),
        provider=_text(_need(c, "provider", where), f"{where}.provider"),
        amount=amount,
        currency=_currency(_need(c, "currency", where), f"{where}.currency"),
        start=start,
        expires=expires,
    )


def _agreement(c: dict, where: str) -> Agreement:
    _known(c, {"partner", "rate", "channels", "models", "settlement", "lag_days"}, where)
    rate = _money(_need(c, "rate", where), f"{where}.rate")
    if not 0 <= rate <= 1:
        raise UsageError(f"{where}.rate: {rate} is not a share between 0 and 1")
    settlement = c.get("settlement", "month")
    if settlement not in ("month", "quarter"):
        raise UsageError(f"{where}.settlement: {settlement!r}: month or quarter")
    names = {}
    for key in ("channels", "models"):
        value = c.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"{where}.{key}: a list of names")
        names[key] = tuple(value)
    return Agreement(
        partner=_text(_need(c, "partner", where), f"{where}.partner"),
        rate=rate,
        channels=names["channels"],
        models=names["models"],
        settlement=settlement,
        lag_days=_int(c.get("lag_days", 0), f"{where}.lag_days", 0, 3650),
    )
