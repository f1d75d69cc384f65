"""The demo's workflow as a library function: a synthetic lab generated, ingested the way
a user would (the open month's mid-month export first), allocated, its usage loaded, and
its ledger total set against the truth it was generated from."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from computeledger import money
from computeledger.ingest.results import FileResult
from computeledger.ledger import open_ledger
from computeledger.shipped import INVOICE_MAPPING, SYNTH_RULES
from computeledger.synth import generate


@dataclass
class Lab:
    """What building the demo lab did, and where its ledger is."""

    bills: Path
    ledger: Path
    made: dict
    preliminary: list[FileResult]
    final: list[FileResult]
    superseded: int
    charges_placed: int
    parts: int
    ledger_total: Decimal
    truth_total: Decimal


def build_lab(
    folder: Path,
    months: int = 12,
    start: str = "2024-01",
    on_file: Callable[[FileResult], None] | None = None,
) -> Lab:
    """Generate the lab under `folder`, ingest its bills into `folder/lab.duckdb`, allocate
    them by the shipped rules and load its OpenAI-style usage, revenue and bank statement."""
    bills = folder / "synthetic-lab"
    made = generate(bills, months=months, start=start)
    path = folder / "lab.duckdb"
    with open_ledger(path) as lg:
        early = lg.ingest([bills / "preliminary"], on_file=on_file)  # the open month, mid-month
        final = lg.ingest([bills / "focus"], on_file=on_file)
        final += lg.ingest([bills / "invoices"], mapping=INVOICE_MAPPING, on_file=on_file)
        superseded = lg.ingests.filter(lg.ingests.status == "superseded").count().to_pyarrow().as_py()
        total = lg.summary([]).to_pyarrow().to_pylist()[0]["BilledCost"]
        run = lg.allocate(SYNTH_RULES)
        lg.ingest_usage([bills / "usage" / "openai"])
        lg.ingest_revenue([bills / "revenue"])
        lg.ingest_cash([bills / "finance"])
    return Lab(bills, path, made, early, final, superseded, run.charges, run.parts, total, truth_total(bills))


@money.exact
def truth_total(bills: Path) -> Decimal:
    """The lab's billed cost as its truth file states it."""
    with (bills / "truth" / "costs.csv").open() as f:
        return sum((Decimal(r["billed_cost"]) for r in csv.DictReader(f)), Decimal(0))


def token_economics(ledger) -> list[dict]:
    """Per model and month: cost and revenue per million tokens and the gross margin, each
    with its label (the demo's last table; `unit-costs` and `margin` give every column)."""
    from computeledger import app

    costs = {(r["model"], r["month"]): r for r in app.unit_costs(ledger, "model,month").detail.rows}
    out = []
    for m in app.margin(ledger, "model,month").detail.rows:
        c = costs.get((m["model"], m["month"]), {})
        out.append({
            "month": m["month"], "model": m["model"] or "(no model)", "revenue": m["revenue"],
            "cost_per_million_tokens": c.get("cost_per_million_tokens"),
            "revenue_per_million_tokens": m["revenue_per_million_tokens"],
            "gross_margin": m["gross_margin"], "margin_pct": m["margin_pct"],
            "label": "cost allocated (effective, loaded); revenue billed"
            + ("; subscriptions attributed by tokens (estimated)" if "attributed" in m["provenance"] else ""),
        })  # fmt: skip
    return sorted(out, key=lambda r: (r["month"], str(r["model"])))
