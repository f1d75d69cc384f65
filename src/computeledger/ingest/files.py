"""Finding input files, telling their format, and fingerprinting them."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
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


def discover(paths: list[str | Path], also: Callable[[Path], object] | None = None) -> list[Path]:
    """The files named, and the supported files under the folders named (those `also`
    accepts besides: the bills' JSON cost reports), in a stable order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(
                f for f in p.rglob("*") if f.is_file() and (file_format(f) or (also is not None and also(f)))
            ))  # fmt: skip
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
    #: a compressed file whose stream is damaged or ends before its end marker
    cut_short: bool = False


def fingerprint(path: Path, fmt: str | None) -> Fingerprint:
    """sha256 of the bytes as stored and, for CSV text, its number of lines: one read. A
    gzip stream is inflated on the way (its readers may stop quietly where it is cut)."""
    digest = hashlib.sha256()
    size = count = 0
    last = b"\n"
    counted = fmt in ("csv", "csv.gz")
    inflate = zlib.decompressobj(wbits=31) if fmt in ("csv.gz", "jsonl.gz") else None
    cut = False
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if fmt == "csv":
                text = chunk
            elif inflate is not None:
                try:
                    text = inflate.decompress(chunk) if not inflate.eof else b""
                except zlib.error:  # damaged: the reader will refuse the file, saying why
                    inflate, counted, cut = None, False, True
                    continue
            else:
                continue
            if text and counted:
                count += text.count(b"\n")
                last = text[-1:]
    cut = cut or (inflate is not None and not inflate.eof)
    if not counted:
        return Fingerprint(digest.hexdigest(), size, None, cut)
    return Fingerprint(digest.hexdigest(), size, count + (0 if last == b"\n" else 1), cut)


_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def encoding_problem(path: Path, fmt: str | None) -> str | None:
    """Why a text file cannot be read as UTF-8, told from its first bytes: a UTF-16 or
    UTF-32 byte-order mark, or mostly NUL bytes (UTF-16 without a mark, or not text at all).
    None for UTF-8 (with or without its mark), for binary formats and for what cannot be
    read here (the reader then says why)."""
    if fmt == "parquet":
        return None
    try:
        if path.name.lower().endswith(".gz"):
            import gzip

            with gzip.open(path, "rb") as f:
                head = f.read(4096)
        else:
            with path.open("rb") as f:
                head = f.read(4096)
    except (OSError, EOFError, zlib.error):
        return None
    for mark, name in _BOMS:
        if head.startswith(mark):
            return (
                f"encoded as {name} (its byte-order mark is {mark.hex(' ').upper()}): computeledger reads "
                "UTF-8 text; save it as UTF-8 (in Excel: CSV UTF-8) and ingest it again"
            )
    if head.count(b"\x00") * 4 > len(head):  # a NUL in a value is that row's problem alone
        return (
            "is mostly NUL bytes: not UTF-8 text (UTF-16 without a byte-order mark, or a binary "
            "file); save it as UTF-8 and ingest it again"
        )
    return None


def path_text(path: Path | str) -> str:
    """A path as text to store and print: a byte that is not UTF-8 in a file name is
    written as its escape (\\xff), never an error; the file itself is read by its real name."""
    import os

    return os.fsencode(path).decode("utf-8", "backslashreplace")
