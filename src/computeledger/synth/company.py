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
    inference_nodes: Decimal
    growth: Decimal
    training_nodes: Decimal
    launch_month: int = 0
    operation: str = "chat"  # or "embeddings" (input tokens only)
    tokens_per_gpu_hour: int = 0  # served tokens (input + output) per inference GPU-hour
    input_share: Decimal = Decimal("0.75")  # of served tokens
    cached_share: Decimal = Decimal(0)  # of input tokens, read from the prompt cache
    reasoning_share: Decimal = Decimal(0)  # of output tokens
    tokens_per_request: int = 1000
    price_input: Decimal = Decimal(0)  # USD per million tokens
    price_cached_input: Decimal = Decimal(0)
    price_output: Decimal = Decimal(0)
    price_cuts: tuple[tuple[int, Decimal], ...] = ()  # (month, factor applied from that month)
    architecture: str | None = None  # a capacity-catalogue model of the same shape
    #: requests in flight per replica: the operating point its throughput stands for, at
    #: which `capacity compare` and the report set its bills against the physics
    concurrency: int | None = None

    def prices(self, month: int) -> tuple[Decimal, Decimal, Decimal]:
        """Input, cached-input and output prices per million tokens in month number `month`."""
        factor = Decimal(1)
        for at, cut in self.price_cuts:
            if month >= at:
                factor *= cut
        q = Decimal("0.0001")
        return tuple(  # type: ignore[return-value]
            (p * factor).quantize(q) for p in (self.price_input, self.price_cached_input, self.price_output)
        )


@dataclass(frozen=True)
class Channel:
    """A way the lab sells: per token (API, or API resold by a cloud partner) or by subscription."""

    name: str
    token_share: Decimal  # of each model's served tokens
    customers: int = 1
    revenue_share: Decimal = Decimal(0)  # owed to `partner`, of the channel's revenue
    partner: str = ""
    subscription_price: Decimal = Decimal(0)  # per subscriber-month; 0 = billed per token
    subscribers: int = 0  # at the start month
    subscriber_growth: Decimal = Decimal(0)  # per month
    payment_days: tuple[int, int] = (30, 60)  # an invoice is paid this many days after it is issued


@dataclass(frozen=True)
class Correction:
    """A credit (or charge) on a later bill that corrects an already invoiced month."""

    provider: str
    month: int  # the billing month it appears in
    corrects: int  # the invoiced month it corrects
    workload: str
    model: str
    amount: Decimal
    description: str


@dataclass(frozen=True)
class Funding:
    month: int
    day: int
    round: str
    investor: str
    amount: Decimal


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
    tax_rate: Decimal = Decimal(0)  # on the month's net charges, one Tax row
    cpu_instance: str = ""  # the API gateway's CPU fleet (shared), billed per node-hour
    cpu_list_price: Decimal = Decimal(0)
    cpu_nodes: int = 0
    support_per_month: Decimal = Decimal(0)  # an enterprise support plan, one row a month

    @property
    def reservation_rate(self) -> Decimal:
        """Amortized price of a reserved node-hour."""
        return self.list_price * (1 - self.reservation_discount)

    @property
    def unit_price(self) -> Decimal:
        return self.list_price * (1 - self.discount)

    @property
    def cpu_unit_price(self) -> Decimal:
        """The CPU nodes' contract rate: list less the discount, to 4 decimals (half even)."""
        return (self.cpu_list_price * (1 - self.discount)).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class Company:
    name: str
    currency: str
    models: tuple[Model, ...]
    clouds: tuple[Cloud, ...]
    storage_per_day: Decimal
    egress_per_day: Decimal
    channels: tuple[Channel, ...] = ()
    corrections: tuple[Correction, ...] = ()
    preliminary_days: int = 0  # an open-month export of this many days, restated by the final one
    opening_cash: Decimal = Decimal(0)
    cloud_payment_days: int = 20  # cloud bills are paid this many days after the billing period
    funding: tuple[Funding, ...] = ()
    #: spread of each model's monthly traffic growth (log scale): 0 = growth exactly as
    #: written; above, traffic is a geometric random walk drawn from the seed (a future to
    #: forecast that is not a straight line)
    volatility: Decimal = Decimal(0)


def default_config() -> Path:
    return Path(str(files("computeledger") / "data" / "synth_company.toml"))


def _money(value, where: str, places: int = 4, signed: bool = False) -> Decimal:
    try:
        d = Decimal(str(value))
        exact = d == d.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation as exc:
        raise UsageError(f"{where}: not a decimal: {value!r}") from exc
    if (d < 0 and not signed) or not exact:
        kind = "an amount" if signed else "a non-negative amount"
        raise UsageError(f"{where}: must be {kind} with at most {places} decimals: {value!r}")
    return d


def _share(value, where: str) -> Decimal:
    d = _money(value, where, 4)
    if d > 1:
        raise UsageError(f"{where}: a share must be between 0 and 1: {value!r}")
    return d


#: What real exports do that a cloud of the company may be set to do (see generate._with_quirks).
QUIRKS = (
    "null_literal", "blank_nulls", "space_timestamps", "lowercase_frequency", "tag_case", "block_pricing",
)  # fmt: skip


def _quirks(values: list, where: str) -> tuple[str, ...]:
    unknown = set(values) - set(QUIRKS)
    if unknown:
        raise UsageError(
            f"{where}: unknown quirk(s) {', '.join(sorted(unknown))} (known: {', '.join(QUIRKS)})"
        )
    return tuple(values)


def _concurrency(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{where}: a whole number of requests in flight, at least 1, not {value!r}")
    return value


def load_company(path: Path | None = None) -> Company:
    """Parse and check a company file (a path, or `synth-company`, the shipped one); every
    error names the file and the entry."""
    from computeledger.shipped import find

    path = find(path, "company") if path is not None else default_config()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the company file: {exc}") from exc
    try:
        models = tuple(
            Model(
                name=m["name"],
                inference_nodes=_money(
                    m.get("inference_nodes", 0), f"{path}: model {m['name']} inference_nodes", 6
                ),
                growth=_money(m.get("growth", 0), f"{path}: model {m['name']} growth"),
                training_nodes=_money(
                    m.get("training_nodes", 0), f"{path}: model {m['name']} training_nodes", 6
                ),
                launch_month=int(m.get("launch_month", 0)),
                architecture=m.get("architecture"),
                concurrency=_concurrency(m.get("concurrency"), f"{path}: model {m['name']} concurrency"),
                **_serving(m, f"{path}: model {m['name']}"),
            )
            for m in doc["models"]
        )
        names = {m.name for m in models}
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
                    tax_rate=_share(c.get("tax_rate", 0), f"{where} tax_rate"),
                    **_cpu_and_support(c, where),
                )
            )
        shared = doc.get("shared", {})
        finance = doc.get("finance", {})
        channels = tuple(_channel(c, f"{path}: channel {c['name']}") for c in doc.get("channels", []))
        total_share = sum((c.token_share for c in channels), Decimal(0))
        if channels and total_share != 1:
            raise UsageError(f"{path}: the channels' token_share must add up to 1, not {total_share}")
        focus_clouds = {c.provider for c in clouds if c.focus_version != "invoice"}
        return Company(
            name=doc["company"]["name"],
            currency=doc["company"].get("currency", "USD"),
            models=models,
            clouds=tuple(clouds),
            storage_per_day=_money(shared.get("storage_per_day", 0), f"{path}: storage_per_day", 2),
            egress_per_day=_money(shared.get("egress_per_day", 0), f"{path}: egress_per_day", 2),
            channels=channels,
            corrections=tuple(
                _correction(c, f"{path}: correction {i + 1}", focus_clouds, names)
                for i, c in enumerate(doc.get("corrections", []))
            ),
            preliminary_days=int(doc.get("restatement", {}).get("preliminary_days", 0)),
            opening_cash=_money(finance.get("opening_cash", 0), f"{path}: finance opening_cash", 2),
            cloud_payment_days=int(finance.get("cloud_payment_days", 20)),
            volatility=_share(doc["company"].get("volatility", 0), f"{path}: company volatility"),
            funding=tuple(
                Funding(
                    month=int(f["month"]),
                    day=int(f.get("day", 1)),
                    round=f["round"],
                    investor=f.get("investor", ""),
                    amount=_money(f["amount"], f"{path}: funding {f['round']} amount", 2),
                )
                for f in finance.get("funding", [])
            ),
        )
    except KeyError as exc:
        raise UsageError(f"{path}: missing entry {exc.args[0]!r}") from exc


def _cpu_and_support(c: dict, where: str) -> dict:
    cpu = c.get("cpu_instance", "")
    if cpu:
        row = gpus.lookup(cpu)
        if row is None or row.gpus:
            raise UsageError(f"{where}: cpu_instance {cpu!r} is not a CPU-only instance of the catalogue")
        if c.get("focus_version") == "invoice":
            raise UsageError(f"{where}: a GPU cloud's invoice bills GPU nodes only (no cpu_instance)")
    return {
        "cpu_instance": cpu,
        "cpu_list_price": _money(c.get("cpu_list_price", 0), f"{where} cpu_list_price"),
        "cpu_nodes": int(c.get("cpu_nodes", 0)),
        "support_per_month": _money(c.get("support_per_month", 0), f"{where} support_per_month", 2),
    }


def _funding(f: dict, where: str) -> Funding:
    return Funding(
        month=int(f["month"]), day=int(f.get("day", 1)), round=f["round"], investor=f.get("investor", ""),
        amount=_money(f["amount"], f"{where} amount", 2),
    )  # fmt: skip


def _serving(m: dict, where: str) -> dict:
    """A model's serving figures: throughput, token mix and prices."""
    operation = m.get("operation", "chat")
    if operation not in ("chat", "embeddings"):
        raise UsageError(f"{where}: operation must be chat or embeddings: {operation!r}")
    cuts = tuple(
        (int(c["month"]), _share(c["factor"], f"{where} price_cuts factor")) for c in m.get("price_cuts", [])
    )
    return {
        "operation": operation,
        "tokens_per_gpu_hour": int(m.get("tokens_per_gpu_hour", 0)),
        "input_share": _share(m.get("input_share", "0.75"), f"{where} input_share"),
        "cached_share": _share(m.get("cached_share", 0), f"{where} cached_share"),
        "reasoning_share": _share(m.get("reasoning_share", 0), f"{where} reasoning_share"),
        "tokens_per_request": max(1, int(m.get("tokens_per_request", 1000))),
        "price_input": _money(m.get("price_input", 0), f"{where} price_input"),
        "price_cached_input": _money(m.get("price_cached_input", 0), f"{where} price_cached_input"),
        "price_output": _money(m.get("price_output", 0), f"{where} price_output"),
        "price_cuts": cuts,
    }


def _channel(c: dict, where: str) -> Channel:
    days = c.get("payment_days", [30, 60])
    if len(days) != 2 or not 0 <= int(days[0]) <= int(days[1]):
        raise UsageError(f"{where}: payment_days must be [earliest, latest]: {days!r}")
    share = _share(c.get("revenue_share", 0), f"{where} revenue_share")
    if share and not c.get("partner"):
        raise UsageError(f"{where}: a revenue_share needs the partner it is owed to")
    return Channel(
        name=c["name"],
        token_share=_share(c["token_share"], f"{where} token_share"),
        customers=max(1, int(c.get("customers", 1))),
        revenue_share=share,
        partner=c.get("partner", ""),
        subscription_price=_money(c.get("subscription_price", 0), f"{where} subscription_price", 2),
        subscribers=int(c.get("subscribers", 0)),
        subscriber_growth=_share(c.get("subscriber_growth", 0), f"{where} subscriber_growth"),
        payment_days=(int(days[0]), int(days[1])),
    )


def _correction(c: dict, where: str, clouds: set[str], models: set[str]) -> Correction:
    if c["provider"] not in clouds:
        raise UsageError(f"{where}: provider must be one of the FOCUS clouds ({', '.join(sorted(clouds))})")
    if not 0 <= int(c["corrects"]) < int(c["month"]):
        raise UsageError(f"{where}: corrects must be an earlier month than month")
    if c.get("model", "-") not in models | {"-"} or c["workload"] not in WORKLOADS:
        raise UsageError(f"{where}: unknown workload or model")
    return Correction(
        provider=c["provider"], month=int(c["month"]), corrects=int(c["corrects"]),
        workload=c["workload"], model=c.get("model", "-"),
        amount=_money(c["amount"], f"{where} amount", 2, signed=True),
        description=c.get("description", "Billing correction"),
    )  # fmt: skip
