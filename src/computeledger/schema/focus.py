"""The FOCUS Cost and Usage column catalogue (1.0 to 1.4) and version detection.

The ledger stores the union of the 1.0-1.4 columns under their 1.3 names. Each
column knows its kind (how it is parsed), the version that introduced it, whether
a file must carry it, whether a value may be null, and its allowed values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a raw text value becomes a typed ledger value."""

    DECIMAL = "decimal"
    DATETIME = "datetime"
    STRING = "string"
    JSON = "json"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    since: str
    #: the ledger cannot use a row without a value here: a null quarantines the row
    required_value: bool = False
    #: FOCUS says the value must not be null, but the row is still usable: flag it
    focus_not_null: bool = False
    #: allowed values (compared case-insensitively; a case fix is flagged)
    allowed: tuple[str, ...] = ()


SERVICE_CATEGORIES = (
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
    "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things",
    "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security",
    "Storage", "Web", "Other",
)  # fmt: skip

CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")

_D, _T, _S, _J = Kind.DECIMAL, Kind.DATETIME, Kind.STRING, Kind.JSON

COLUMNS: tuple[Column, ...] = (
    Column("AllocatedMethodDetails", _J, "1.3"),
    Column("AllocatedMethodId", _S, "1.3"),
    Column("AllocatedResourceId", _S, "1.3"),
    Column("AllocatedResourceName", _S, "1.3"),
    Column("AllocatedTags", _J, "1.3"),
    Column("AvailabilityZone", _S, "1.0"),
    Column("BilledCost", _D, "1.0", required_value=True),
    Column("BillingAccountId", _S, "1.0", required_value=True),
    Column("BillingAccountName", _S, "1.0"),
    Column("BillingAccountType", _S, "1.2"),
    Column("BillingCurrency", _S, "1.0", required_value=True),
    Column("BillingPeriodEnd", _T, "1.0", required_value=True),
    Column("BillingPeriodStart", _T, "1.0", required_value=True),
    Column("CapacityReservationId", _S, "1.1"),
    Column("CapacityReservationStatus", _S, "1.1", allowed=("Used", "Unused")),
    Column("ChargeCategory", _S, "1.0", required_value=True, allowed=CHARGE_CATEGORIES),
    Column("ChargeClass", _S, "1.0", allowed=("Correction",)),
    Column("ChargeDescription", _S, "1.0"),
    Column("ChargeFrequency", _S, "1.0", allowed=("One-Time", "Recurring", "Usage-Based")),
    Column("ChargePeriodEnd", _T, "1.0", required_value=True),
    Column("ChargePeriodStart", _T, "1.0", required_value=True),
    Column("CommitmentDiscountCategory", _S, "1.0", allowed=("Spend", "Usage")),
    Column("CommitmentDiscountId", _S, "1.0"),
    Column("CommitmentDiscountName", _S, "1.0"),
    Column("CommitmentDiscountQuantity", _D, "1.1"),
    Column("CommitmentDiscountStatus", _S, "1.0", allowed=("Used", "Unused")),
    Column("CommitmentDiscountType", _S, "1.0"),
    Column("CommitmentDiscountUnit", _S, "1.1"),
    Column("CommitmentProgramEligibilityDetails", _J, "1.4"),
    Column("ConsumedQuantity", _D, "1.0"),
    Column("ConsumedUnit", _S, "1.0"),
    Column("ContractApplied", _J, "1.3"),
    Column("ContractedCost", _D, "1.0", focus_not_null=True),
    Column("ContractedUnitPrice", _D, "1.0"),
    Column("EffectiveCost", _D, "1.0", required_value=True),
    Column("HostProviderName", _S, "1.3"),
    Column("InvoiceDetailId", _S, "1.4"),
    Column("InvoiceId", _S, "1.2"),
    Column("InvoiceIssuerName", _S, "1.0", focus_not_null=True),
    Column("ListCost", _D, "1.0", focus_not_null=True),
    Column("ListUnitPrice", _D, "1.0"),
    Column("PricingCategory", _S, "1.0", allowed=("Standard", "Dynamic", "Committed", "Other")),
    Column("PricingCurrency", _S, "1.2"),
    Column("PricingCurrencyContractedUnitPrice", _D, "1.2"),
    Column("PricingCurrencyEffectiveCost", _D, "1.2"),
    Column("PricingCurrencyListUnitPrice", _D, "1.2"),
    Column("PricingQuantity", _D, "1.0"),
    Column("PricingUnit", _S, "1.0"),
    Column("ProviderName", _S, "1.0"),
    Column("PublisherName", _S, "1.0"),
    Column("RegionId", _S, "1.0"),
    Column("RegionName", _S, "1.0"),
    Column("ResourceId", _S, "1.0"),
    Column("ResourceName", _S, "1.0"),
    Column("ResourceType", _S, "1.0"),
    Column("ServiceCategory", _S, "1.0", focus_not_null=True, allowed=SERVICE_CATEGORIES),
    Column("ServiceName", _S, "1.0", focus_not_null=True),
    Column("ServiceProviderName", _S, "1.3", required_value=True),
    Column("ServiceSubcategory", _S, "1.1"),
    Column("SkuId", _S, "1.0"),
    Column("SkuMeter", _S, "1.1"),
    Column("SkuPriceDetails", _J, "1.1"),
    Column("SkuPriceId", _S, "1.0"),
    Column("SubAccountId", _S, "1.0"),
    Column("SubAccountName", _S, "1.0"),
    Column("SubAccountType", _S, "1.2"),
    Column("Tags", _J, "1.0"),
)

BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
BY_LOWER: dict[str, Column] = {c.name.lower(): c for c in COLUMNS}

MONEY = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")

#: Pre-1.0 names that some generators still emit, and their 1.0+ names.
RENAMED = {"amortizedcost": "EffectiveCost", "chargetype": "ChargeCategory", "region": "RegionId"}

#: Values of earlier versions, mapped to the current value (and flagged).
LEGACY_VALUES = {
    "PricingCategory": {"on-demand": "Standard", "commitment-based": "Committed"},
}

#: Columns a file must carry, whatever its version. The provider is checked apart:
#: ProviderName (1.0-1.3) or ServiceProviderName (1.3+) must be there.
MANDATORY = (
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost",
    "PricingQuantity", "PricingUnit", "ServiceCategory", "ServiceName",
)  # fmt: skip

_VERSION_MARKERS = (
    ("1.4", ("InvoiceDetailId", "CommitmentProgramEligibilityDetails")),
    ("1.3", ("ServiceProviderName", "HostProviderName", "ContractApplied", "AllocatedMethodId",
             "AllocatedResourceId", "AllocatedResourceName", "AllocatedTags",
             "AllocatedMethodDetails")),
    ("1.2", ("BillingAccountType", "SubAccountType", "InvoiceId", "PricingCurrency",
             "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
             "PricingCurrencyListUnitPrice")),
    ("1.1", ("CapacityReservationId", "CapacityReservationStatus", "CommitmentDiscountQuantity",
             "CommitmentDiscountUnit", "ServiceSubcategory", "SkuMeter", "SkuPriceDetails")),
)  # fmt: skip


#: 1.2 names that Azure's FocusCost 1.0 layout already writes: alone, no evidence of 1.2.
_EARLY_WRITTEN = frozenset({"BillingAccountType", "SubAccountType"})


def detect_version(columns: set[str]) -> str:
    """The FOCUS version a set of (canonical) column names belongs to (`version_evidence`)."""
    return version_evidence(columns)[0]


def version_evidence(columns: set[str]) -> tuple[str, str]:
    """The FOCUS version of a set of (canonical) column names, and the columns that decided
    it. The version is the newest whose own columns appear, except that the 1.2 names
    BillingAccountType and SubAccountType count only beside a 1.1 column: Azure's FocusCost
    1.0 export writes them with none of 1.1's columns. Column sets are cumulative, so this
    is a lower bound on what the generator followed, which is all that parsing needs."""
    has_11 = bool(columns.intersection(dict(_VERSION_MARKERS)["1.1"]))
    for version, markers in _VERSION_MARKERS:
        found = [m for m in markers if m in columns]
        decisive = [m for m in found if m not in _EARLY_WRITTEN or has_11]
        if decisive:
            return version, f"{version}: has {version}'s " + ", ".join(decisive)
    early = sorted(columns & _EARLY_WRITTEN)
    why = "1.0: none of the columns added in 1.1 or later"
    if early:
        why += (f" beyond {', '.join(early)} (1.2 names that Azure's FocusCost 1.0 export also writes,"
                " not counted without a 1.1 column)")  # fmt: skip
    return "1.0", why


def missing_mandatory(columns: set[str]) -> list[str]:
    """Mandatory FOCUS columns absent from a file, in catalogue order."""
    missing = [name for name in MANDATORY if name not in columns]
    if not columns.intersection({"ProviderName", "ServiceProviderName"}):
        missing.append("ServiceProviderName (or ProviderName before 1.3)")
    return missing


def canonical_name(header: str) -> tuple[str | None, bool]:
    """Map a file header to a catalogue column: (name, renamed?). None if not FOCUS."""
    clean = header.strip().lstrip("\ufeff").strip()
    if clean in BY_NAME:
        return clean, clean != header
    lower = clean.lower()
    if lower in BY_LOWER:
        return BY_LOWER[lower].name, True
    if lower in RENAMED:
        return RENAMED[lower], True
    return None, False
