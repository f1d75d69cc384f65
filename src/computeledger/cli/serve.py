"""`computeledger serve`: the read-only API and dashboard over one ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from computeledger.cli.accounting import ContractsOpt
from computeledger.cli.common import LedgerOpt, backend, console
from computeledger.errors import UsageError
from computeledger.server.snapshot import Settings

TOKEN_ENV = "COMPUTELEDGER_TOKEN"


def serve(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (beyond loopback: --token)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", envvar=TOKEN_ENV, help="Every request must carry it (Authorization: Bearer T)"
        ),
    ] = None,
    contracts: ContractsOpt = None,
    figures: Annotated[
        list[Path] | None,
        typer.Option(
            "--figures", help="Figures files the API checks, by name [default: the shipped example]"
        ),
    ] = None,
    scenario: Annotated[
        list[Path] | None, typer.Option("--scenario", help="Scenario files the API runs, by name")
    ] = None,
    queries: Annotated[
        int,
        typer.Option(
            "--queries", min=1, max=64, help="Questions run at once (others wait: memory stays bounded)"
        ),
    ] = 2,
) -> None:
    """Serve the ledger read-only: a JSON API under /api/v1/ (the commands' JSON) and a
    dashboard at /. An ingest in another process goes on meanwhile (the server reads a
    snapshot, refreshed when the ledger changes)."""
    import uvicorn

    from computeledger.server import create

    settings = resolve(backend(ctx), ledger, token, contracts, figures or [], scenario or [], queries)
    if host not in ("127.0.0.1", "localhost", "::1") and token is None:
        raise UsageError(f"--host {host}: beyond loopback the server needs --token (or ${TOKEN_ENV})")
    api = create(settings, host)
    console.print(
        f"serving {escape(str(settings.ledger))} read-only on http://{escape(host)}:{port}/ "
        f"(API: /api/v1/, OpenAPI: /openapi.json); Ctrl-C stops",
        highlight=False,
        soft_wrap=True,
    )
    uvicorn.run(api, host=host, port=port, log_level="warning")


def resolve(chosen: str | None, ledger: str | None, token: str | None, contracts: Path | None,
            figures: list[Path], scenarios: list[Path], queries: int = 2,
            scratch: Path | None = None) -> Settings:  # fmt: skip
    """The server's settings, resolved once from the flags, the environment and
    ./computeledger.toml: nothing the server runs reads them again."""
    from computeledger import config
    from computeledger.accounting.contracts import load_contracts
    from computeledger.figures.read import read_figures
    from computeledger.forecast.scenario import load_scenario
    from computeledger.shipped import EXAMPLES, find, name_of
    from computeledger.store import version

    found = config.load(chosen)
    kind = found.backend
    path = Path(ledger or found.ledger).resolve()
    if version(kind, path) is None:
        raise UsageError(f"no ledger at {path}: load bills first with `computeledger ingest`")
    if token is not None and len(token) < 16:
        raise UsageError("--token: at least 16 characters (it is the only lock on the ledger's figures)")
    contracts_path = contracts or found.contracts
    parsed = load_contracts(contracts_path)
    shown = [find(f, "examples") for f in figures] or [EXAMPLES / "openai_azure_2025.yaml"]
    runs = {name_of(p): p.resolve() for p in scenarios}
    for f in shown:
        read_figures(f)  # a file asked for is read now: a bad one is refused before serving
    for p in runs.values():
        load_scenario(p)
    return Settings(
        ledger=path,
        backend=kind,
        contracts=parsed,
        contracts_path=Path(contracts_path).resolve() if contracts_path else None,
        figures={name_of(p): p.resolve() for p in shown},
        scenarios=runs,
        token=token,
        spark_master=found.spark_master,
        queries=queries,
        scratch=scratch,
    )


def register(app: typer.Typer) -> None:
    """Add this command to the application."""
    app.command()(serve)
