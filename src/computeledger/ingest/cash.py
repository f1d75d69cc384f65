"""Cash into the ledger: bank statement lines (`cash`) and funding rounds (`funding`),
read as documents (see `computeledger.ingest.documents`: exact, conserved, idempotent).

A bank statement has no id a re-issue repeats: a later statement replaces the earlier
lines of the same account between its first and last date, so loading January to March
and then January to June counts each line once. A funding round re-issued under the same
name replaces the earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import ibis
import ibis.expr.types as ir

from computeledger.errors import UsageError
from computeledger.ingest.documents import Family, Kind, ingest_documents
from computeledger.ingest.mapping import Mapping
from computeledger.ingest.results import FileResult
from computeledger.ingest.typed import Field
from computeledger.store import Store

#: The kinds of bank line the statement knows; other kinds are kept as written.
BANK_KINDS = ("opening_balance", "customer_payment", "cloud_bill", "revenue_share", "funding", "commitment")


def _bank_lines(rows: ir.Table) -> ir.Table:
    """Kinds compared without case or spaces ("Cloud Bill" is cloud_bill)."""
    kind = rows.kind.strip().lower().re_replace(r"[\s-]+", "_")
    return rows.mutate(kind=kind.nullif(""))


def _same_statement(t: ir.Table, good: ir.Table) -> ir.BooleanValue:
    """Earlier lines of an account this file covers, between its first and last date."""
    spans = good.group_by("account").aggregate(first=good.date.min(), last=good.date.max())
    terms = []
    for s in spans.to_pyarrow().to_pylist():
        same = t.account.isnull() if s["account"] is None else t.account == s["account"]
        terms.append(same & t.date.between(s["first"], s["last"]))
    while len(terms) > 1:  # a balanced OR: a thousand accounts nest ten deep, not a thousand
        terms = [a | b for a, b in zip(terms[::2], terms[1::2], strict=False)] + terms[len(terms) // 2 * 2 :]
    return terms[0] if terms else ibis.literal(False)


KINDS = {
    "funding": Kind("funding", "funding", "round", (
        Field("date", "date", True, ("closed_on", "closing_date")), Field("round", "text", True),
        Field("investor", "text", False, ("investors", "lead")), Field("amount", "decimal", True),
        Field("currency", "text", True),
    ), frozenset({"round", "amount", "date"}), unique=("round",)),
    "bank": Kind("bank", "cash", None, (
        Field("account", "text", False, ("account_id", "iban")),
        Field("date", "date", True, ("booking_date", "value_date", "transaction_date", "posted_on")),
        Field("counterparty", "text", False, ("payee", "payer", "name")),
        Field("kind", "text", False, ("type", "category")),
        Field("reference", "text", False, ("ref", "memo", "remittance")),
        Field("amount", "decimal", True), Field("currency", "text", True),
        Field("balance", "decimal", False, ("running_balance",)),
    ), frozenset({"date", "amount", "counterparty"}), replaces=_same_statement, finish=_bank_lines),
}  # fmt: skip

MAPPING_TARGETS = {k.name: {f.name for f in k.fields} for k in KINDS.values()}

FAMILY = Family("cash", KINDS, (
    "not a bank statement or funding file: its columns match no kind (bank lines need date, "
    "counterparty, amount; funding rounds date, round, amount); map other layouts with --mapping"
))  # fmt: skip


def load_cash_mapping(path: str | Path) -> Mapping:
    """A mapping for a bank export (its `kind` names the table it fills: bank or funding)."""
    from computeledger.ingest.mapping import load_mapping

    m = load_mapping(path, MAPPING_TARGETS)
    if m.kind is None:
        raise UsageError(f'{path}: a cash mapping says its kind: kind = "bank" (or funding)')
    return m


def ingest_cash(
    store: Store, paths: Iterable[str | Path], mapping: Mapping | None = None
) -> list[FileResult]:
    """Load every bank statement and funding file named or under a folder named."""
    return ingest_documents(store, paths, FAMILY, mapping)
