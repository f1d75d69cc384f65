"""Checking files against the FOCUS rules without loading them.

The checks are those of ingest (the same code, on a scratch in-memory database):
what validate calls an error is exactly what ingest would quarantine or refuse.
Warnings are the normalisations ingest would flag on loaded rows.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from computeledger.ingest import focus as ingest
from computeledger.ingest.files import discover, path_text
from computeledger.store import open_store


@dataclass
class Problem:
    file: str
    line: int | None
    column: str | None
    severity: str  # error, warning
    message: str
    rows: int = 1  # warnings are counted, not listed row by row

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_COLUMN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)[: ]")


def _split(reason: str) -> list[tuple[str | None, str]]:
    out = []
    for part in reason.split("; "):
        m = _COLUMN.match(part)
        out.append((m.group(1) if m else None, part))
    return out


def validate(paths: list[str | Path]) -> list[Problem]:
    """Problems of every file under `paths`; an empty list means all files would load whole."""
    problems: list[Problem] = []
    for path in discover(list(paths)):
        problems.extend(validate_file(path))
    return problems


def validate_file(path: Path) -> list[Problem]:
    """Problems of one file: ingest it into a scratch in-memory ledger and read what it did."""
    store = open_store("duckdb", ":memory:")
    try:
        result = ingest.ingest_file(store, path, batch="validate")
        if result.status == "refused":
            return [Problem(path_text(path), None, None, "error", result.message or "refused")]
        problems = []
        q = store.table("quarantine").order_by("source_line")
        for row in q.select("source_line", "reason").to_pyarrow().to_pylist():
            for column, message in _split(row["reason"]):
                problems.append(Problem(path_text(path), row["source_line"], column, "error", message))
        c = store.table("charges")
        flagged = c.filter(c.x_quality_flags.notnull())
        flags = flagged.select(flag=flagged.x_quality_flags.split(";").unnest(), line=flagged.x_source_line)
        counts = flags.group_by("flag").aggregate(n=flags.count(), line=flags.line.min()).order_by("flag")
        for row in counts.to_pyarrow().to_pylist():
            kind, _, column = row["flag"].partition(":")
            problems.append(
                Problem(
                    path_text(path),
                    row["line"],
                    column or None,
                    "warning",
                    _WARNINGS.get(kind, kind),
                    row["n"],
                )
            )
        return problems
    finally:
        store.close()


_WARNINGS = {
    "null_literal": "the text NULL stands for a null value (read as null)",
    "blank_as_null": "an empty or blank string stands for a null value (read as null)",
    "value_spelling_fixed": "a value differs from the FOCUS spelling (case or pre-1.0 name; fixed)",
    "us_date_format": "a date is written M/D/Y rather than ISO 8601 (read as month/day/year)",
    "null_not_allowed": "FOCUS requires a value here; the row is kept with an unknown value",
    "charge_outside_billing_period": "the charge period starts outside its billing period",
    "service_provider_is_publisher": "marketplace row: the publisher is taken as the service provider",
}
