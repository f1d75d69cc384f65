"""The synthetic company's description: read from TOML (a shipped default, or a user's copy)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib.resources import files
from pathlib import Path

from computeledger.catalog import gpus
from computeledger.errors import UsageError

WORKLOADS = ("inference", "training", "research")


@dataclass(frozen=True)
class Model:
    name: str
    inference_nodes: float
    growth: Decimal
    training_nodes: float
    launch_month: int = 0


@dataclass(frozen=True)
class Cloud:
    provider: str
    focus_version: str
    account: str
    account_name: str
    region: str
    instance: str
    gpus_per_node: int
    list_price: Decimal  # per instance-hour
    discount: Decimal  # negotiated, off list
    workloads: tuple[str, ...]
    credit_grant: Decimal = Decimal(0)  # cloud credits, used up against charges month by month
    quirks: tuple[str, ...] = ()  # how this cloud's export departs from clean FOCUS
    reservation_nodes: int = 0  # inference nodes covered by a reservation prepaid in the first month
    reservation_months: int = 12
    reservation_discount: Decimal = Decimal(0)  # off list, for the reserved rate

    @property
    def reservation_rate(self) -> Decimal:
        """Amortized price of a reserved node-hour."""
        return self.list_price * (1 - self.reservation_discount)

    @property
    def unit_price(self) -> Decimal:
        return self.list_price * (1 - self.discount)


@dataclass(frozen=True)
class Company:
    name: str
    currency: str
    models: tuple[Model, ...]
    clouds: tuple[Cloud, ...]
    storage_per_day: Decimal
    egress_per_day: Decimal


def default_config() -> Path:
    return Path(str(files("computeledger") / "data" / "synth_company.toml"))


def _money(value, where: str, places: int = 4) -> Decimal:
    try:
        d = Decimal(str(value))
    except InvalidOperation as exc:
        raise UsageError(f"{where}: not a decimal: {value!r}") from exc
    if d < 0 or d != d.quantize(Decimal(1).scaleb(-places)):
        raise UsageError(f"{where}: must be a non-negative amount with at most {places} decimals: {value!r}")
    return d


def _quirks(values: list, where: str) -> tuple[str, ...]:
    from computeledger.synth.generate import QUIRKS

    unknown = set(values) - set(QUIRKS)
    if unknown:
        raise UsageError(
            f"{where}: unknown quirk(s) {', '.join(sorted(unknown))} (known: {', '.join(QUIRKS)})"
        )
    return tuple(values)


def load_company(path: Path | None = None) -> Company:
    """Parse and check a company file; every error names the file and the entry."""
    path = path or default_config()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the company file: {exc}") from exc
    try:
        models = tuple(
            Model(
                name=m["name"],
                inference_nodes=float(m.get("inference_nodes", 0)),
                growth=_money(m.get("growth", 0), f"{path}: model {m['name']} growth"),
                training_nodes=float(m.get("training_nodes", 0)),
                launch_month=int(m.get("launch_month", 0)),
            )
            for m in doc["models"]
        )
        clouds = []
        for c in doc["clouds"]:
            where = f"{path}: cloud {c['provider']}"
            row = gpus.lookup(c["instance"])
            if row is None:
                raise UsageError(f"{where}: instance {c['instance']!r} is not in the GPU catalogue")
            bad = set(c["workloads"]) - set(WORKLOADS)
            if bad:
                raise UsageError(f"{where}: unknown workload(s) {', '.join(sorted(bad))}")
            if c["focus_version"] not in ("1.0", "1.2", "invoice"):
                raise UsageError(f"{where}: focus_version must be 1.0, 1.2 or invoice (a GPU cloud's CSV)")
            clouds.append(
                Cloud(
                    provider=c["provider"],
                    focus_version=c["focus_version"],
                    account=c["account"],
                    account_name=c["account_name"],
                    region=c["region"],
                    instance=c["instance"],
                    gpus_per_node=row.gpus,
                    list_price=_money(c["list_price"], f"{where} list_price", 2),
                    discount=_money(c["discount"], f"{where} discount", 2),
                    workloads=tuple(c["workloads"]),
                    credit_grant=_money(c.get("credit_grant", 0), f"{where} credit_grant", 2),
                    quirks=_quirks(c.get("quirks", []), where),
                    reservation_nodes=int(c.get("reservation_nodes", 0)),
                    reservation_months=int(c.get("reservation_months", 12)),
                    reservation_discount=_money(
                        c.get("reservation_discount", 0), f"{where} reservation_discount", 2
                    ),
                )
            )
        shared = doc.get("shared", {})
        return Company(
            name=doc["company"]["name"],
            currency=doc["company"].get("currency", "USD"),
            models=models,
            clouds=tuple(clouds),
            storage_per_day=_money(shared.get("storage_per_day", 0), f"{path}: storage_per_day", 2),
            egress_per_day=_money(shared.get("egress_per_day", 0), f"{path}: egress_per_day", 2),
        )
    except KeyError as exc:
        raise UsageError(f"{path}: missing entry {exc.args[0]!r}") from exc
