"""CSV bills to Parquet, every column as the text the file holds: what the Spark ledger
ingests. DuckDB reads the CSV (streaming, bounded memory); nothing is typed or rounded,
so the ledger's FOCUS rules see the same text on either backend."""

from __future__ import annotations

from pathlib import Path

from computeledger.ingest.files import discover, file_format
from computeledger.store.duckdb_files import csv_to_parquet


def to_parquet(paths: list[Path], out: Path) -> list[tuple[Path, Path]]:
    """Each CSV (or CSV.gz) named, or under a folder named, to `out`: a folder's files keep
    their place below a folder of its name. Returns (source, written) pairs."""
    pairs = []
    out.mkdir(parents=True, exist_ok=True)
    for path in discover(list(paths)):
        fmt = file_format(path)
        if fmt not in ("csv", "csv.gz"):
            continue
        folder = next((Path(p) for p in paths if Path(p).is_dir() and path.is_relative_to(p)), None)
        name = path.name.removesuffix(".gz").removesuffix(".csv").removesuffix(".CSV") + ".parquet"
        where = Path(folder.name) / path.parent.relative_to(folder) if folder else Path()
        target = out / where / name
        target.parent.mkdir(parents=True, exist_ok=True)
        csv_to_parquet(path, target)
        pairs.append((path, target))
    return pairs
