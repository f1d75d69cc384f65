"""CSV bills to Parquet, every column as the text the file holds: what Spark reads in
parallel (the Spark ledger also takes CSV, read on the driver). DuckDB reads the CSV
(streaming, bounded memory); nothing is typed or rounded, so the ledger's FOCUS rules see
the same text on either backend."""

from __future__ import annotations

from pathlib import Path

from computeledger.errors import UsageError
from computeledger.ingest.files import discover, file_format, path_text
from computeledger.store.duckdb_files import csv_to_parquet


def to_parquet(paths: list[Path], out: Path) -> list[tuple[Path, Path]]:
    """Each CSV (or CSV.gz) named, or under a folder named, to `out`: a folder's files keep
    their place below a folder of its name. Returns (source, written) pairs."""
    for p in map(Path, paths):
        if p.is_file() and file_format(p) not in ("csv", "csv.gz"):
            raise UsageError(f"{path_text(p)}: not a CSV bill (convert reads .csv and .csv.gz files)")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {path_text(out)}: a file, not a folder")
    pairs = []
    out.mkdir(parents=True, exist_ok=True)
    for path in discover(list(paths)):
        fmt = file_format(path)
        if fmt not in ("csv", "csv.gz"):
            continue  # a folder's other files
        folder = next((Path(p) for p in paths if Path(p).is_dir() and path.is_relative_to(p)), None)
        name = path.name.removesuffix(".gz").removesuffix(".csv").removesuffix(".CSV") + ".parquet"
        where = Path(folder.name) / path.parent.relative_to(folder) if folder else Path()
        target = out / where / name
        target.parent.mkdir(parents=True, exist_ok=True)
        csv_to_parquet(path, target)
        pairs.append((path, target))
    return pairs
