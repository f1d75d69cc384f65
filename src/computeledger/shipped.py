"""The files computeledger ships (rules, mappings, the FOCUS sample), found by name from
anywhere: a pip-installed copy has no `src/` folder to point at."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"
FOCUS_SAMPLE = DATA / "focus_sample.csv"
INVOICE_MAPPING = DATA / "mappings" / "gpu_cloud_invoice.toml"
SYNTH_RULES = DATA / "rules" / "synth_lab.toml"
