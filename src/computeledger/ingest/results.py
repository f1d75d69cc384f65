"""What ingest reports for each file, shared by ingest, the ledger and the commands."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class Refused(Exception):
    """The whole file is refused; nothing of it is loaded."""


@dataclass
class FileResult:
    """What happened to one file; the CLI prints it, `--format json` prints it as is."""

    path: str
    sha256: str | None = None
    status: str = "loaded"
    format: str | None = None
    focus_version: str | None = None
    version_evidence: str | None = None  # the columns (or metadata) that decided the version
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_replaced: int = 0
    rows_set_aside: int = 0  # rows of this file an export of the same bill in the same call outranks
    #: charges made from list elements (a mapping's [unnest]: a GCP row's credits), so that
    #: rows_loaded + rows_quarantined = rows_read + rows_unnested
    rows_unnested: int = 0
    ingest_id: int | None = None
    mapping: str | None = None
    mapping_sha256: str | None = None
    message: str | None = None
    reasons: list[str] = field(default_factory=list)
    #: column -> {"rows": n, "residue": exact text}: what was rounded past the 18th decimal place
    rounding: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
