"""Finding input files, telling their format, and fingerprinting them."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from computeledger.errors import UsageError

FORMATS = {".csv": "csv", ".csv.gz": "csv.gz", ".parquet": "parquet", ".pq": "parquet"}
_CHUNK = 1 << 22


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    for suffix, fmt in sorted(FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    return None


def discover(paths: list[str | Path]) -> list[Path]:
    """The files named, and the supported files under the folders named, in a stable order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and file_format(f)))
        elif p.is_file():
            found.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    return found


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    size: int
    #: physical lines of the (decompressed) text; None for binary formats
    lines: int | None


def fingerprint(path: Path, fmt: str | None) -> Fingerprint:
    """sha256 of the bytes as stored; for text, the number of lines in the same pass."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    lines = _count_lines(path, gzip.open if fmt == "csv.gz" else open) if fmt in ("csv", "csv.gz") else None
    return Fingerprint(digest.hexdigest(), size, lines)


def _count_lines(path: Path, opener) -> int:
    count, last = 0, b"\n"
    with opener(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (0 if last == b"\n" else 1)
