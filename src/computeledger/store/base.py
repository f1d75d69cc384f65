"""What every store offers: the ledger's tables behind a few operations.

A store is the only code that knows its engine. Everything above it builds Ibis
expressions over `table(name)` and hands rows back through these operations; the
engine's own SQL, files and transactions stay inside the store's module.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import ibis.expr.types as ir
import sqlglot.expressions as sge

#: A condition on a table, given as a function of the table: `lambda t: t.x == 1`.
#: The column `Store.unnest` marks element rows with.
ELEMENT = "__element"
Where = Callable[[ir.Table], ir.BooleanValue]


class Unreadable(Exception):
    """The file cannot be read as the format its name says."""


@dataclass
class Staged:
    """A file read as text columns, before any FOCUS rule: what ingest starts from."""

    table: ir.Table  # the file's columns as text, plus the row number column (0-based, file order)
    columns: list[str]
    first_line: int  # line of row 0 when rows and lines go one to one
    source: str = "csv"  # csv, parquet, or mapped
    #: (record number, raw text, message) of the records the reader could not split
    rejects: list[tuple[int, str, str]] = field(default_factory=list)
    delimiter: str = ","
    quote: str = '"'
    #: where a list column's elements became rows of their own (a mapping's [unnest]): the
    #: row number an element row has is its record's plus a multiple of this
    stride: int | None = None
    unnested: int = 0  # rows made from list elements
    #: a mapped file's FOCUS column -> the file's columns it is read from, in words: a
    #: reason names the column the user's file has, not only the FOCUS one
    sources: dict[str, str] = field(default_factory=dict)


class Tables(Protocol):
    """What reads a ledger's tables (a `Ledger` is one), for annotations in modules that the
    ledger itself imports, where naming `Ledger` would make an import cycle."""

    @property
    def charges(self) -> ir.Table:
        """The ledger's charges."""
        ...

    def table(self, name: str) -> ir.Table:
        """A ledger table by name."""
        ...


class Store(Protocol):
    """The ledger's tables on one engine. `con` is the Ibis backend the tables live on."""

    name: str
    con: Any
    root: str

    def table(self, name: str) -> ir.Table:
        """The table as it is now (on Spark: charges of committed ingests only)."""

    def exists(self, name: str) -> bool:
        """Whether the ledger has this table."""

    def append(self, name: str, rows: ir.Table, params: dict[str, Any] | None = None) -> None:
        """Add rows (an Ibis table in the table's columns) to a table; `params` binds the
        expression's `ibis.param`s (the store may compile it once for many values)."""

    def pending(self, name: str, where: Where) -> ir.Table:
        """The rows for which `where` holds, including those not yet committed (on Spark a
        file's charges before its ingests row is written)."""

    def delete(self, name: str, where: Where) -> None:
        """Remove the rows for which `where` holds."""

    def update(self, name: str, where: Where, values: dict[str, Callable[[ir.Table], ir.Value]]) -> None:
        """Set columns on the rows for which `where` holds (small tables: ingests, runs)."""

    def replace(self, name: str, key: dict[str, Any], rows: ir.Table) -> None:
        """Replace the rows whose columns equal `key` (a partition, or one ingest's rows) by `rows`."""

    def transaction(self) -> AbstractContextManager[None]:
        """All or nothing: on DuckDB a transaction; on Spark the ingests row commits."""

    def next_id(self, name: str, column: str) -> int:
        """One more than the largest id of `column` in `name` (1 on an empty table)."""

    def scratch(self, rows: ir.Table) -> AbstractContextManager[ir.Table]:
        """The rows computed once and kept while the block runs: one computation, many reads."""

    def memtable(self, rows: list[dict[str, Any]], name: str) -> ir.Table:
        """Python rows as a table with `name`'s schema."""

    def stage(self, path: Path, fmt: str) -> Staged:
        """A bill file as text columns (the one engine-specific step of reading a bill)."""

    def gather(self, rows: ir.Table, first: bool, alone: bool = False) -> ir.Table:
        """Keep a staged file's rows (`rows`, read before the next file is staged) in the
        store's group of staged files, started anew when `first`; the group as a table, so
        that the files of one layout go through the FOCUS rules in one pass. A file `alone`
        in its group is read before any other file is staged: the store need not copy it."""

    def through(self, rows: ir.Table, select: sge.Select) -> ir.Table:
        """`rows` seen through a SELECT list built with sqlglot (a mapping's), as a table:
        the engine plans the select once; no SQL text is parsed again on each use."""

    def unnest(self, rows: ir.Table, column: str, fields: list[str], stride: int) -> ir.Table:
        """`rows` (staged text, ROW numbered) and, after them, a row for each element of the
        JSON list in `column`, an object whose `fields` become the text columns
        `column.field` (empty on the rows themselves). ELEMENT is null on the rows, the
        element's place (from 0) on an element row, whose ROW is its row's plus
        (place + 1) * `stride`; -1 on a row whose list is not a JSON list of objects
        (its elements unknown: its record is refused, never loaded without them)."""

    def read_usage(self, path: Path, fmt: str, attributes: dict[str, str]) -> ir.Table:
        """A usage file's records as typed columns with their line and raw text."""

    def close(self) -> None:
        """Release the ledger (its lock, its connection)."""


def as_text(src: ir.Table, columns: list[str]) -> dict[str, ir.Value]:
    """A typed file's columns as text, as staging needs them: the FOCUS rules then see the
    same text whatever the file's types. A struct's fields become columns of their own,
    named by their path (`service.description`, as a BigQuery export's nested `service`
    reads); maps and lists are kept as their JSON."""
    text: dict[str, ir.Value] = {}
    for c in columns:
        _text_of(src[c], c, text)
    return text


def _text_of(v: ir.Value, name: str, out: dict[str, ir.Value]) -> None:
    typ = v.type()
    if typ.is_struct():
        for field_name in typ.names:
            _text_of(v[field_name], f"{name}.{field_name}", out)
    elif typ.is_string():
        out[name] = v
    elif typ.is_map() or typ.is_array() or typ.is_json():
        out[name] = v.cast("json").cast("string")
    else:
        out[name] = v.cast("string")


_GLOB = set("*?[]{}")
_LINKS: list[Path] = []


def literal_path(path: Path) -> str:
    """The path to hand an engine's reader so that it reads this one file: engines expand
    globs (`b*.csv`, `x[1].csv`), so a name holding glob characters is read through a
    link of a plain name in a private folder (removed at exit). A path is a path."""
    text = str(path)
    try:
        text.encode("utf-8")
        plain = not _GLOB & set(text)
    except UnicodeEncodeError:  # a name with bytes that are not UTF-8: engines take text only
        plain = False
    if plain:
        return text
    import atexit
    import hashlib
    import shutil
    import tempfile

    if not _LINKS:
        _LINKS.append(Path(tempfile.mkdtemp(prefix="computeledger-paths-")))
        atexit.register(shutil.rmtree, _LINKS[0], True)
    suffix = "".join(s for s in Path(path).suffixes if not _GLOB & set(s) and s.isascii() and s.isprintable())
    link = _LINKS[0] / (hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:24] + suffix)
    if not link.exists():
        link.symlink_to(Path(path).resolve())
    return str(link)
