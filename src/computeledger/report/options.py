"""What a report is asked: the period, the basis, the allocation, the extra inputs and
the filters, as the command line and the dashboard set them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Options:
    """What the command line sets: the period, the bases, the allocation, extra inputs."""

    start: date | None = None
    end: date | None = None  # exclusive
    basis: str = "effective"
    rules_version: str | None = None
    contracts: str | None = None
    figures: str | None = None
    catalogue: dict[str, str] = field(default_factory=dict)
    horizon: int = 12
    #: requests in flight per replica, per ledger model: the point physics is set at
    concurrency: dict[str, int] = field(default_factory=dict)
    #: one provider's charges (ServiceProviderName), one model's allocated parts: the
    #: sections that can be cut so (SCOPED); the others are the company's whole
    provider: str | None = None
    model: str | None = None

    def filtered(self) -> str:
        """The provider and model filters in words ("" when none is set)."""
        said = [
            f"provider {self.provider}" if self.provider else "",
            f"model {self.model}" if self.model else "",
        ]
        return ", ".join(w for w in said if w)
