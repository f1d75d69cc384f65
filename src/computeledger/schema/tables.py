"""Ledger table definitions, as Ibis schemas so that every backend creates the same tables."""

from __future__ import annotations

import ibis.expr.datatypes as dt
import ibis.expr.schema as sch

from computeledger.schema.focus import COLUMNS, Kind

#: Exact decimal for every money and quantity column: 20 integer and 18 fractional
#: digits. Digits past the 18th place (Azure writes up to 28) are rounded half-even on the
#: way in, each residue kept on its row and summed per ingest (`ingest/rounding.py`).
NUMBER = dt.Decimal(38, 18)
NUMBER_SCALE = 18
NUMBER_INTEGER_DIGITS = 38 - NUMBER_SCALE

_KIND_TYPES = {
    Kind.DECIMAL: NUMBER,
    Kind.DATETIME: dt.Timestamp(),  # naive, always UTC
    Kind.STRING: dt.string,
    Kind.JSON: dt.string,  # serialised JSON text: portable across backends
}

#: Our own columns on each charge (FOCUS asks custom columns to start with x_).
CHARGE_EXTRAS = {
    "x_charge_id": dt.int64,  # unique in the ledger: ingest id and row
    "x_ingest_id": dt.int64,
    "x_source_file": dt.string,
    "x_source_line": dt.int64,  # line of the file where the row starts (Parquet: row number)
    "x_quality_flags": dt.string,  # ';'-separated normalisations applied, null if none
    "x_extensions": dt.string,  # JSON object of the columns FOCUS does not define
}

CHARGES = sch.Schema({c.name: _KIND_TYPES[c.kind] for c in COLUMNS} | CHARGE_EXTRAS)

INGESTS = sch.Schema(
    {
        "ingest_id": dt.int64,
        "batch_id": dt.string,
        "path": dt.string,
        "sha256": dt.string,
        "mapping_sha256": dt.string,  # the mapping a non-FOCUS file was read with
        "format": dt.string,
        "focus_version": dt.string,
        "rows_read": dt.int64,
        "rows_loaded": dt.int64,
        "rows_quarantined": dt.int64,
        "rows_superseded": dt.int64,  # rows of earlier ingests this one replaced
        "status": dt.string,  # loaded, duplicate, refused, superseded
        "superseded_by": dt.int64,
        "message": dt.string,
        "started_at": dt.Timestamp(),
        "finished_at": dt.Timestamp(),
        # added after the first ledgers were written: at the end, where a migration adds them
        "version_evidence": dt.string,  # which columns (or metadata) decided the version
        #: JSON: column -> {"rows": n, "residue": exact text} for values rounded past the 18th place
        "rounding": dt.string,
    }
)

QUARANTINE = sch.Schema(
    {
        "ingest_id": dt.int64,
        "source_file": dt.string,
        "source_line": dt.int64,
        "raw": dt.string,
        "reason": dt.string,
    }
)

#: A share of a charge, to 12 decimals (see allocate/split.py for the rounding rule).
SHARE = dt.Decimal(13, 12)

#: Each charge's place under a version of the allocation rules: one row (part 0) for a
#: directly allocated charge, one row per target for a charge split by a driver. The
#: parts of a charge add up to it exactly on every cost basis.
ALLOCATIONS = sch.Schema(
    {
        "rules_version": dt.string,  # sha256 of the rules file, first 16 hex digits
        "x_charge_id": dt.int64,
        "part": dt.int32,
        "workload": dt.string,  # inference, training, research, shared, other, or unallocated
        "model": dt.string,
        "team": dt.string,
        "environment": dt.string,
        "x_dimensions": dt.string,  # JSON object of the rules' own dimensions
        "placed_by": dt.string,  # JSON object: dimension -> rule that set it
        "split": dt.string,  # the split that spread the charge, null if direct
        "share": SHARE,
        "BilledCost": NUMBER,
        "EffectiveCost": NUMBER,
        "ListCost": NUMBER,
        "ContractedCost": NUMBER,
        "gpu_hours": NUMBER,  # null where unknown (a GPU instance without quantity)
        "gpu_model": dt.string,
    }
)

ALLOCATION_RUNS = sch.Schema(
    {
        "rules_version": dt.string,
        "rules_file": dt.string,
        "rules_text": dt.string,  # the rules as run, so a result can be reproduced
        "dimensions": dt.string,  # JSON list of the rules' own dimensions
        "charges": dt.int64,
        "parts": dt.int64,
        "created_at": dt.Timestamp(),
    }
)

#: Token usage, one row per usage record or span (input includes cached input and cache
#: writes, output includes reasoning).
USAGE = sch.Schema(
    {
        "ingest_id": dt.int64,
        "source_file": dt.string,
        "period_start": dt.Timestamp(),
        "period_end": dt.Timestamp(),
        "model": dt.string,
        "customer": dt.string,
        "channel": dt.string,
        "operation": dt.string,
        "requests": dt.int64,
        "input_tokens": dt.int64,
        "cached_input_tokens": dt.int64,
        "output_tokens": dt.int64,
        "reasoning_tokens": dt.int64,
        "provider": dt.string,  # who served the model (OpenAI, Anthropic, gen_ai.provider.name)
        "cache_write_tokens": dt.int64,  # input tokens written to a prompt cache (part of input)
    }
)

_SOURCE = {"ingest_id": dt.int64, "source_file": dt.string, "source_line": dt.int64}

#: Customer invoice lines, one row per line: what was sold, for which service period.
#: Amounts are exact and in `currency`; a credit note is a line with a negative amount.
REVENUE_LINES = sch.Schema(
    _SOURCE
    | {
        "invoice_id": dt.string,
        "customer": dt.string,
        "channel": dt.string,
        "model": dt.string,  # null when the line sells no one model (a subscription)
        "item": dt.string,  # input, cached_input, output, subscription, ...
        "quantity": NUMBER,
        "unit": dt.string,  # "1M tokens", "subscriber-month", ...
        "unit_price": NUMBER,
        "amount": NUMBER,
        "currency": dt.string,
        "period_start": dt.date,  # the service period: revenue accrues here
        "period_end": dt.date,  # exclusive
        "issued_on": dt.date,
        "due_on": dt.date,
        "x_quality_flags": dt.string,  # e.g. amount_not_quantity_times_price
    }
)

#: Customer payments, as received.
PAYMENTS = sch.Schema(
    _SOURCE
    | {
        "payment_id": dt.string,
        "invoice_id": dt.string,  # may name no invoice in the ledger: kept, listed as unmatched
        "customer": dt.string,
        "paid_on": dt.date,
        "amount": NUMBER,
        "currency": dt.string,
    }
)

#: Partners' revenue-share statements: what a partner's channel earned and the share owed.
REVENUE_SHARE = sch.Schema(
    _SOURCE
    | {
        "statement_id": dt.string,
        "partner": dt.string,
        "channel": dt.string,
        "model": dt.string,
        "period_start": dt.date,
        "period_end": dt.date,
        "revenue": NUMBER,
        "rate": NUMBER,
        "amount": NUMBER,
        "due_on": dt.date,
        "currency": dt.string,
    }
)

#: Bank statement lines: every movement of cash, dated, signed (money in is positive).
CASH = sch.Schema(
    _SOURCE
    | {
        "account": dt.string,  # the bank account, when the statement names it
        "date": dt.date,
        "counterparty": dt.string,
        "kind": dt.string,  # opening_balance, customer_payment, cloud_bill, revenue_share, funding, ...
        "reference": dt.string,  # what the line pays: an invoice id, a billing month, a round
        "amount": NUMBER,
        "currency": dt.string,
        "balance": NUMBER,  # the bank's own running balance after the line, when it gives one
    }
)

#: Funding rounds as closed: the cash they bring shows on the bank statement too.
FUNDING = sch.Schema(
    _SOURCE
    | {
        "date": dt.date,
        "round": dt.string,
        "investor": dt.string,
        "amount": NUMBER,
        "currency": dt.string,
    }
)

TABLES: dict[str, sch.Schema] = {
    "charges": CHARGES,
    "ingests": INGESTS,
    "quarantine": QUARANTINE,
    "allocations": ALLOCATIONS,
    "allocation_runs": ALLOCATION_RUNS,
    "usage": USAGE,
    "revenue_lines": REVENUE_LINES,
    "payments": PAYMENTS,
    "revenue_share": REVENUE_SHARE,
    "cash": CASH,
    "funding": FUNDING,
}
