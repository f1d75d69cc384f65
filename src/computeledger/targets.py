"""Where a command writes a file: never over a file it reads, never over a file that is not
an earlier output of its own kind (unless `--force`), and never half a file.

Every command that writes (`report --out`, `report --images`, `capacity calibrate --out`)
checks its target here before any work, and writes through `write_text`: the text goes to a
temporary file beside the target, which then replaces it in one rename, so a full disk or a
killed process leaves the old file (or none) and never a truncated one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from computeledger.errors import UsageError

_PEEK = 4096  # bytes of an existing file read to tell whether it is an earlier output


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_target(
    target: Path,
    *,
    option: str,
    kind: str,
    reads: Iterable[tuple[str, Path | str | None]] = (),
    ours: Callable[[bytes], bool] | None = None,
    force: bool = False,
) -> None:
    """Refuse, before any work, a `target` that names a file the command reads (`reads`:
    (what it is, path) pairs), an existing file that `ours` does not recognise from its first
    bytes as an earlier output of this `kind` (unless `force`), a folder, or a place with no
    folder. `option` names the option in the message."""
    shown = f"{option} {target}"
    try:
        target.stat()
    except FileNotFoundError:
        pass
    except OSError as exc:  # a name too long, a file where a folder should be, no permission
        raise UsageError(f"{shown}: cannot write there: {exc.strerror}") from None
    if target.is_dir():
        raise UsageError(f"{shown}: a folder; name the {kind} file to write in it")
    for what, path in reads:
        if path is not None and _same(target, Path(path)):
            raise UsageError(f"{shown}: that is the {what} this command reads; writing would destroy it")
    if not target.parent.is_dir():
        raise UsageError(f"{shown}: no folder {target.parent}")
    if target.exists() and not target.is_file():
        raise UsageError(f"{shown}: not a regular file (a device, a pipe or a socket); name a file")
    if target.exists() and not force:
        try:
            with target.open("rb") as f:
                head = f.read(_PEEK)
        except OSError as exc:
            raise UsageError(f"{shown}: cannot be read to tell what it is: {exc.strerror}") from None
        if ours is None or not ours(head):
            raise UsageError(
                f"{shown}: exists and is not an earlier {kind}; name another file, or --force to replace it"
            )


def check_folder(folder: Path, *, option: str, reads: Iterable[tuple[str, Path | str | None]] = ()) -> None:
    """Refuse a folder to write into that is a file, lies under a file, or is one a command
    reads as a file."""
    shown = f"{option} {folder}"
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise UsageError(f"{shown}: {parent} is a file, not a folder")
    for what, path in reads:
        if path is not None and _same(folder, Path(path)):
            raise UsageError(f"{shown}: that is the {what} this command reads")


def write_text(target: Path, text: str, *, option: str) -> int:
    """Write `text` to `target` whole or not at all (a temporary file renamed over it); an
    OS error (a full disk, no permission, a name too long) is one line. Returns the bytes."""
    data = text.encode("utf-8")
    if target.exists() and not target.is_file():
        raise UsageError(f"{option} {target}: not a regular file (a device, a pipe or a socket); name a file")
    try:
        fd, temp = tempfile.mkstemp(prefix=".computeledger-", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise UsageError(f"{option} {target}: cannot write there: {exc.strerror}") from None
    try:
        os.chmod(temp, _mode_for(target))  # mkstemp's 0600 would hide a shared report
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise UsageError(f"{option} {target}: cannot write: {exc.strerror or exc}") from None
    return len(data)


def _mode_for(target: Path) -> int:
    """The permissions a written file gets: those of the file it replaces, else what a
    plain `open` would give under the process's umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def html_of_ours(head: bytes) -> bool:
    """An earlier computeledger report: an HTML page that names its generator."""
    text = head.decode("utf-8", "replace").lstrip().lower()
    return text.startswith("<!doctype html") and "computeledger" in text


def svg(head: bytes) -> bool:
    """An SVG image (an earlier chart)."""
    text = head.decode("utf-8", "replace").lstrip()
    return text.startswith("<svg") or (text.startswith("<?xml") and "<svg" in text)
