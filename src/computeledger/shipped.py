"""The files computeledger ships (rules, mappings, examples, the FOCUS sample), found by
name from anywhere: a pip-installed copy has no `src/` or `examples/` folder to point at.

Every option that takes such a file takes a path or a shipped name: `--rules synth-lab`,
`--mapping gpu-cloud-invoice`, `figures check openai-azure-2025`. A path that exists wins.
"""

from __future__ import annotations

from pathlib import Path

from computeledger.errors import UsageError

DATA = Path(__file__).parent / "data"
FOCUS_SAMPLE = DATA / "focus_sample.csv"
INVOICE_MAPPING = DATA / "mappings" / "gpu_cloud_invoice.toml"
SYNTH_RULES = DATA / "rules" / "synth_lab.toml"
EXAMPLES = DATA / "examples"

#: kind -> folder of the shipped files of that kind
KINDS = {
    "rules": DATA / "rules",
    "mappings": DATA / "mappings",
    "examples": EXAMPLES,
    "company": DATA,
    "measurements": DATA / "capacity" / "measurements",
    "reports": DATA / "reports",  # API responses as returned, to try `ingest` and `ingest-usage` on
    "exports": DATA
    / "exports",  # native cloud cost exports (AWS CUR, Azure EA, GCP, OCI), to try `ingest` on
}
_SUFFIXES = (".toml", ".yaml", ".yml", ".csv.gz", ".csv", ".jsonl", ".json")


def name_of(path: Path | str) -> str:
    """A shipped file's name: without its suffix, with dashes (`gpu_cloud_invoice.toml` ->
    gpu-cloud-invoice, `trtllm_1.0.csv` -> trtllm-1.0)."""
    name = Path(path).name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.replace("_", "-").lower()


def shipped(kind: str | None = None) -> list[tuple[str, str, Path]]:
    """(kind, name, path) of every shipped file of `kind` (all kinds if None)."""
    out = []
    for k, folder in KINDS.items():
        if kind not in (None, k):
            continue
        pattern = "synth_company.toml" if k == "company" else "*"
        for p in sorted(folder.glob(pattern)):
            if p.is_file() and p.name.lower().endswith(_SUFFIXES):
                out.append((k, name_of(p), p))
    return out


def find(text: str | Path, kind: str) -> Path:
    """The file `text` names: an existing path, else a shipped file of `kind` by name."""
    path = Path(text)
    if path.exists():
        return path
    key = name_of(str(text).strip())
    for _, name, p in shipped(kind):
        if name == key:
            return p
    names = ", ".join(name for _, name, _ in shipped(kind))
    raise UsageError(f"{text}: no such file, nor a shipped {kind.rstrip('s')} (shipped: {names})")
