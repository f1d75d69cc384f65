"""Settings, resolved once: the flags a caller gives, else the environment, else
./computeledger.toml, else the defaults, into one typed `Settings`.

The command line and the server call `load` once per run and pass what it returns down;
nothing below them reads the working folder or the environment. `open_ledger(path)`
without settings loads them itself (the Python API's entry point).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from computeledger.errors import UsageError
from computeledger.store import STORES

CONFIG_FILE = "computeledger.toml"
DEFAULT_PATH = "computeledger.duckdb"
ENV_PATH = "COMPUTELEDGER_LEDGER"
ENV_BACKEND = "COMPUTELEDGER_BACKEND"
LEDGER_KEYS = ("backend", "path", "spark_master")
#: [usage] setting -> the span attribute it names
USAGE_KEYS = {"otel_customer": "customer", "otel_channel": "channel", "otel_requests": "requests"}


@dataclass(frozen=True)
class Settings:
    """Where the ledger is and how it runs, the span attributes usage reads, the contracts."""

    ledger: str = DEFAULT_PATH
    backend: str = "duckdb"
    spark_master: str | None = None
    #: span attribute of customer, channel and request count (`customer`: `lab.customer`, ...)
    usage: dict[str, str] = field(default_factory=dict)
    #: the contracts file `[accounting] contracts` names (resolved against the working folder)
    contracts: Path | None = None


def load(
    backend: str | None = None, config: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """The settings: `backend` (a flag), else $COMPUTELEDGER_BACKEND, else the config file's,
    else DuckDB; the ledger's path from $COMPUTELEDGER_LEDGER, else the file's, else
    ./computeledger.duckdb. The config file is read once, every section checked."""
    env = os.environ if environ is None else environ
    path = Path(CONFIG_FILE) if config is None else config
    doc = read(path)
    ledger = ledger_section(doc, path)
    chosen = backend or env.get(ENV_BACKEND) or ledger.get("backend") or "duckdb"
    if chosen not in STORES:
        raise UsageError(f"backend {chosen!r}: use one of {', '.join(STORES)}")
    return Settings(
        ledger=env.get(ENV_PATH) or ledger.get("path") or DEFAULT_PATH,
        backend=chosen,
        spark_master=ledger.get("spark_master"),
        usage=usage_section(doc, path),
        contracts=contracts_section(doc, path),
    )


def read(path: Path) -> dict[str, Any]:
    """The config file as a document ({} when there is none), or a UsageError naming it."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise UsageError(f"{path}: not TOML: {str(exc) or 'nested too deep'}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc.strerror}") from None


def _table(doc: dict[str, Any], name: str, path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    """The section `[name]` (empty if absent); not a table, or a setting not in `keys`, is refused."""
    section = doc.get(name, {})
    if not isinstance(section, dict):
        raise UsageError(f"{path}: {name} is a table ([{name}] {keys[0]} = ...), not {section!r}")
    unknown = set(section) - set(keys)
    if unknown:
        raise UsageError(f"{path}: [{name}] has no setting {sorted(unknown)[0]!r} ({', '.join(keys)})")
    return section


def ledger_section(doc: dict[str, Any], path: Path) -> dict[str, Any]:
    """`[ledger]`: backend, path, spark_master."""
    return _table(doc, "ledger", path, LEDGER_KEYS)


def usage_section(doc: dict[str, Any], path: Path) -> dict[str, str]:
    """`[usage]`: the span attributes of customer, channel and request count."""
    section = _table(doc, "usage", path, tuple(USAGE_KEYS))
    return {USAGE_KEYS[k]: str(v) for k, v in section.items()}


def contracts_section(doc: dict[str, Any], path: Path) -> Path | None:
    """`[accounting] contracts`: the contracts file, if named."""
    value = _table(doc, "accounting", path, ("contracts",)).get("contracts")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{path}: [accounting] contracts is the path of a contracts file, not {value!r}")
    return Path(value)
