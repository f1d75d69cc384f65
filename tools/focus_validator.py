"""Run the FinOps Foundation's focus-validator on computeledger's FOCUS export, offline.

Run by hand (not in CI; the validator is not a dependency):

    python3 -m venv /tmp/fv && /tmp/fv/bin/pip install -q focus-validator "multimethod<2"
    .venv/bin/python tools/focus_validator.py --validator /tmp/fv/bin/focus-validator

The package registry holds focus-validator 1.0.0 only: it validates FOCUS 0.5, 1.0-preview
and 1.0 (`--supported-versions`), reads its rule and currency files relative to the
working folder (so it runs from its own site-packages folder), and reports rule failures
on stdout without setting its exit code (so its output is parsed). Its 1.0 rule set still
names some columns as 1.0-preview did, and it reads the CSV with pandas' type guessing,
so even the FOCUS 1.0 sample fails 11 of its rules: `ALLOWED` lists each such rule with
the reason it is the validator's, not the file's. The script builds a ledger of the
vendored samples (the FOCUS 1.0 sample; the native AWS CUR, Azure EA, Google Cloud and OCI
samples), exports it as FOCUS 1.2 and 1.3, validates every file against 1.0 (the newest version the
validator knows; 1.2 and 1.3 add columns, which it ignores), and prints each failure as
allowed (with its reason), carried (a value the source itself lacks, flagged at ingest)
or an error. Exit status 1 if any error.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: rule -> why its failure is the validator's own (it fails on the FOCUS 1.0 sample too)
ALLOWED = {
    "Provider_Required": "1.0 names it ProviderName (the validator keeps 1.0-preview's Provider)",
    "Publisher_Required": "1.0 names it PublisherName (1.0-preview's Publisher)",
    "InvoiceIssuer_Required": "1.0 names it InvoiceIssuerName (1.0-preview's InvoiceIssuer)",
    "ResourceID_Required": "1.0 names it ResourceId (1.0-preview's ResourceID)",
    "SkuPriceId_Nullable": "the rule reads ChargeType, a 0.5 column (KeyError)",
    "BillingAccountId_IsString": "pandas reads an all-digit account id as an integer",
    "SubAccountId_IsString": "pandas reads an all-digit account id as an integer",
    "SkuId_IsString": "pandas reads an all-digit or all-empty column as a number",
    "SkuPriceId_IsString": "pandas reads an all-digit or all-empty column as a number",
    "AvailabilityZone_IsString": "pandas reads an all-empty column as a float",
}
#: rules whose failure is a value the source itself lacks (flagged at ingest, never invented)
CARRIED = {
    "ContractedCost_NotNull": "the source rows have no ContractedCost (flagged null_not_allowed)",
    "ListCost_NotNull": "the source rows have no ListCost (OCI gives no list price; flagged)",
}
#: IsDecimal fails when every value of a column is a whole number: pandas reads int64 and
#: the validator wants float. Allowed only where the file's values are all whole numbers.
WHOLE = re.compile(r"^-?\d*$")


def build(folder: Path) -> Path:
    from computeledger import open_ledger

    ledger = folder / "ledger.duckdb"
    data = ROOT / "src" / "computeledger" / "data"
    with open_ledger(ledger) as lg:
        lg.ingest([data / "focus_sample.csv"])
        lg.ingest([data / "exports"])
    return ledger


def failures(validator: Path, path: Path) -> list[str]:
    site = next(validator.parent.parent.glob("lib/python*/site-packages"))
    run = subprocess.run(
        [str(validator), "--data-file", str(path), "--validate-version", "1.0"],
        cwd=site, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if "Traceback" in run.stderr:
        sys.exit(f"the validator failed to run on {path}:\n{run.stderr[-2000:]}")
    return re.findall(r"^(\S+) failed:", run.stdout, flags=re.M)


def whole_numbers(path: Path, column: str) -> bool:
    import csv

    with path.open(newline="", encoding="utf-8") as f:
        return all(WHOLE.match(row[column] or "") for row in csv.DictReader(f))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validator", type=Path, required=True, help="the focus-validator executable")
    args = parser.parse_args()
    from computeledger import open_ledger
    from computeledger.export.focus import write_focus

    errors = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ledger = build(folder)
        files = [ROOT / "src" / "computeledger" / "data" / "focus_sample.csv"]
        with open_ledger(ledger, read_only=True) as lg:
            for version in ("1.2", "1.3"):
                files += [Path(f["path"]) for f in write_focus(lg, folder / version, version)]
        for path in files:
            shown = path.name if path.parent.name not in ("1.2", "1.3") else f"{path.parent.name}/{path.name}"
            for rule in failures(args.validator, path):
                column = rule.split("_")[0]
                if rule in ALLOWED:
                    print(f"{shown}: {rule}: allowed: {ALLOWED[rule]}")
                elif rule in CARRIED:
                    print(f"{shown}: {rule}: carried: {CARRIED[rule]}")
                elif rule.endswith("_IsDecimal") and whole_numbers(path, column):
                    print(f"{shown}: {rule}: allowed: every value is a whole number (pandas reads int64)")
                else:
                    print(f"{shown}: {rule}: ERROR")
                    errors += path.name != "focus_sample.csv"
    print(f"{len(files)} files, {errors} error(s) in the export")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
