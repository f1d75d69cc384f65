"""The JSON API under /api/v1/: the commands' `--format json`, byte for byte.

Each endpoint parses its query as the command parses its options, calls the same
function of `computeledger.app` on the snapshot, and returns `Answer.json()` with the
newline the command prints. A bad parameter gets 400 and the command's one-line message.
Every route reads; none writes; no URL names a file (figures and scenarios are chosen by
name among the files the server was started with).
"""

from __future__ import annotations

import hmac
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.middleware.trustedhost import TrustedHostMiddleware

from computeledger import app as application
from computeledger.errors import ComputeLedgerError, EngineLimit, UsageError
from computeledger.server.snapshot import Settings, Snapshot, answer, reading

PREFIX = "/api/v1"
COOKIE = "computeledger_token"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")

Text = Annotated[str | None, Query()]


class Refusal(BaseModel):
    """Why a request cannot be answered: the command's one-line message."""

    error: str


#: what every endpoint may answer besides its JSON (no 422: a bad parameter is a 400 here)
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "The command's JSON (`--format json`): money as strings, unknown as null",
          "content": {"application/json": {"schema": {}}}},
    400: {"model": Refusal, "description": "A bad parameter: the command's one-line message"},
    503: {"model": Refusal, "description": "The engine's limit (memory): the ledger is as it was; retry"},
    401: {"model": Refusal, "description": "No token, or a wrong one (a server started with --token)"},
}  # fmt: skip


def create(settings: Settings, host: str = "127.0.0.1") -> FastAPI:
    """The application: the API, the dashboard, the token rule; its state is its own."""
    from computeledger.server import dashboard

    folder = Path(tempfile.mkdtemp(prefix="computeledger-serve-", dir=settings.scratch))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        """The snapshots go with the server."""
        try:
            yield
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    api = FastAPI(
        title="computeledger",
        version="1",
        summary="A read-only view of one ledger: the commands' JSON (money as strings).",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    api.state.settings = settings
    api.state.snapshot = Snapshot(folder=folder, running=threading.BoundedSemaphore(settings.queries))
    hosts = sorted({*LOOPBACK, host, "testserver"})  # testserver: the name test clients send (no machine)
    api.add_middleware(
        TrustedHostMiddleware, allowed_hosts=["*" if host in ("0.0.0.0", "::") else h for h in hosts]
    )

    @api.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """The token rule (with a token, every request without it gets 401) and safe headers."""
        token = settings.token
        if token is not None and request.url.path != "/login":
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            given = given or request.cookies.get(COOKIE, "")
            if not hmac.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"error": "a token is needed: Authorization: Bearer TOKEN"}, 401)
        response: Response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @api.exception_handler(ComputeLedgerError)
    async def refused(request: Request, exc: ComputeLedgerError) -> JSONResponse:
        """The command's one line: a bad parameter (400), or the engine's limit (503). A
        line break a parameter carried into the message is written as one (backslash n)."""
        line = str(exc).replace("\r", "\\r").replace("\n", "\\n")
        return JSONResponse({"error": line}, 503 if isinstance(exc, EngineLimit) else 400)

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid')}"}, 400)

    @api.get("/login", include_in_schema=False)
    def login(token: str = "") -> Response:
        """A browser's way in with a token: kept as a cookie for this site only."""
        if settings.token is None or not hmac.compare_digest(token.encode(), settings.token.encode()):
            return JSONResponse({"error": "a token is needed: /login?token=TOKEN"}, 401)
        out = RedirectResponse("/", 303)
        out.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return out

    _routes(api, settings)
    dashboard.register(api, settings)
    api.openapi = lambda: _openapi(api)  # type: ignore[method-assign]
    return api


def _openapi(api: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, without FastAPI's 422: a bad parameter here is a 400."""
    if api.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        doc = get_openapi(title=api.title, version=api.version, summary=api.summary, routes=api.routes)
        for item in doc["paths"].values():
            for operation in item.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            doc.get("components", {}).get("schemas", {}).pop(name, None)
        api.openapi_schema = doc
    return api.openapi_schema


def _answer(request: Request, ask: Callable[[Any], application.Answer]) -> Response:
    """The answer on the current snapshot, as the command prints it (with its newline);
    the same question on the same ledger version is answered once."""
    state = request.app.state
    question = f"{request.url.path}?{request.url.query}"
    text, taken = answer(state.settings, state.snapshot, question, lambda lg: ask(lg).json() + "\n")
    headers = {"X-Ledger-As-Of": taken.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return Response(text, media_type="application/json", headers=headers)


def _named(files: dict[str, Path], name: str | None, kind: str) -> Path:
    """A file the server was started with, by name (never a path from the URL)."""
    if name is None and len(files) == 1:
        return next(iter(files.values()))
    if name not in files:
        known = ", ".join(files) or "none (start the server with them)"
        raise UsageError(f"{kind} {name!r}: not one this server reads ({known})")
    return files[name]


def _routes(api: FastAPI, settings: Settings) -> None:
    """The endpoints, one per command, their parameters the command's options."""
    contracts = settings.contracts

    @api.get(f"{PREFIX}/status", responses=ANSWERS)
    def status(request: Request) -> Response:
        """The ledger served and as of when (the snapshot's time)."""
        import json

        state = request.app.state
        with reading(state.settings, state.snapshot) as (lg, current):
            rows = lg.charges.count().to_pyarrow().as_py()
        doc = {"ledger": settings.ledger.name, "backend": settings.backend, "charges": rows,
               "as_of": current.taken.strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
        return Response(json.dumps(doc, indent=2) + "\n", media_type="application/json")

    @api.get(f"{PREFIX}/summary", responses=ANSWERS)
    def summary(request: Request, by: str = "provider", rules_version: Text = None) -> Response:
        """`computeledger summary --by BY --format json`."""
        return _answer(request, lambda lg: application.summary(lg, by, rules_version))

    @api.get(f"{PREFIX}/charges", responses=ANSWERS)
    def charges(
        request: Request,
        where: Annotated[list[str] | None, Query()] = None,
        largest: bool = False,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 20,
    ) -> Response:
        """`computeledger charges --where COLUMN=VALUE ... --limit N --format json`."""
        return _answer(request, lambda lg: application.charges(lg, where or [], largest, limit))

    @api.get(f"{PREFIX}/unit-costs", responses=ANSWERS)
    def unit_costs(
        request: Request,
        by: str = "model,month",
        basis: str = "effective",
        cost: str = "loaded",
        output_weight: Text = None,
        rules_version: Text = None,
    ) -> Response:
        """`computeledger unit-costs --by BY --basis BASIS --cost COST --format json`."""
        weight = application.positive_decimal(output_weight, "--output-weight")
        return _answer(request, lambda lg: application.unit_costs(
            lg, by, basis, cost, weight, {}, rules_version, contracts))  # fmt: skip

    @api.get(f"{PREFIX}/margin", responses=ANSWERS)
    def margin(
        request: Request,
        by: str = "model,month",
        basis: str = "effective",
        cost: str = "loaded",
        unattributed: bool = False,
        rules_version: Text = None,
    ) -> Response:
        """`computeledger margin --by BY --basis BASIS --format json`."""
        return _answer(
            request, lambda lg: application.margin(lg, by, basis, cost, not unattributed, rules_version)
        )

    @api.get(f"{PREFIX}/statement", responses=ANSWERS)
    def statement(
        request: Request,
        period: str = "quarter",
        basis: str = "all",
        start: Annotated[str | None, Query(alias="from")] = None,
        end: Annotated[str | None, Query(alias="to")] = None,
        rules_version: Text = None,
    ) -> Response:
        """`computeledger statement --period PERIOD --basis BASIS --format json`."""
        return _answer(request, lambda lg: application.statement(
            lg, period, basis, start, end, contracts, rules_version))  # fmt: skip

    @api.get(f"{PREFIX}/bridge", responses=ANSWERS)
    def bridge(request: Request, period: str, rules_version: Text = None) -> Response:
        """`computeledger statement --bridge --period PERIOD --format json`."""
        return _answer(request, lambda lg: application.bridge(lg, period, contracts, rules_version))

    @api.get(f"{PREFIX}/ingests", responses=ANSWERS)
    def ingests(request: Request) -> Response:
        """`computeledger ingests --format json`: every file ingested, every column."""
        return _answer(request, lambda lg: application.ingests(lg, every_column=True))

    @api.get(f"{PREFIX}/quarantine", responses=ANSWERS)
    def quarantine(
        request: Request,
        ingest: Annotated[int | None, Query(ge=0)] = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 50,
    ) -> Response:
        """`computeledger quarantine [--ingest ID] --limit N --format json` (at most 100,000
        rows a request: the command's `--limit 0`, all, is not served)."""
        return _answer(request, lambda lg: application.quarantine(lg, ingest, limit))

    @api.get(f"{PREFIX}/coverage", responses=ANSWERS)
    def coverage(request: Request, dimension: str = "workload", rules_version: Text = None) -> Response:
        """`computeledger coverage --dimension D --format json`: what each rule placed."""
        return _answer(request, lambda lg: application.coverage(lg, rules_version, dimension))

    @api.get(f"{PREFIX}/commitments", responses=ANSWERS)
    def commitments(request: Request, schedule: bool = False) -> Response:
        """`computeledger commitments [--schedule] --format json`."""
        return _answer(request, lambda lg: application.commitments(lg, schedule, contracts))

    @api.get(f"{PREFIX}/credits", responses=ANSWERS)
    def credits(request: Request, by_month: bool = False) -> Response:
        """`computeledger credits [--by-month] --format json`."""
        return _answer(request, lambda lg: application.credits(lg, by_month, contracts))

    @api.get(f"{PREFIX}/revenue-share", responses=ANSWERS)
    def revenue_share(request: Request) -> Response:
        """`computeledger revenue-share --format json`: the agreements of the server's contracts."""
        return _answer(request, lambda lg: application.revenue_share(lg, contracts))

    @api.get(f"{PREFIX}/forecast/{{series}}", responses=ANSWERS)
    def forecast(
        request: Request,
        series: str,
        horizon: Annotated[int, Query(ge=1, le=application.MAX_HORIZON)] = 12,
        by: Text = None,
        basis: str = "effective",
        grain: str = "month",
        models: Text = None,
        above: Text = None,
        below: Text = None,
        cumulative: bool = False,
        draws: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
        seed: Annotated[int | None, Query(ge=0)] = None,
        rules_version: Text = None,
    ) -> Response:
        """`computeledger forecast SERIES --horizon N ... --format json`."""
        ask = application.ForecastAsk(series, horizon, by, basis, grain, models, above, below, cumulative,
                                      draws, seed, contracts, rules_version)  # fmt: skip
        return _answer(request, lambda lg: application.forecast(lg, ask))

    @api.get(f"{PREFIX}/scenario", responses=ANSWERS)
    def scenario(
        request: Request, name: Text = None, basis: str = "effective", rules_version: Text = None
    ) -> Response:
        """`computeledger scenario run [FILE] --format json`: the ledger's own trends, or a
        scenario file the server was started with, by name."""
        paths = None if name is None else [_named(settings.scenarios, name, "scenario")]
        return _answer(request, lambda lg: application.scenario(lg, paths, basis, contracts, rules_version))

    @api.get(f"{PREFIX}/anomalies", responses=ANSWERS)
    def anomalies(
        request: Request,
        by: Text = None,
        grain: str = "day",
        basis: str = "effective",
        level: int = 99,
        rules_version: Text = None,
    ) -> Response:
        """`computeledger anomalies --by BY --grain GRAIN --format json`."""
        return _answer(request, lambda lg: application.anomalies(lg, by, grain, basis, level, rules_version))

    @api.get(f"{PREFIX}/figures/check", responses=ANSWERS)
    def figures_check(
        name: Text = None,
        section: Text = None,
        fleet_gpu: Text = None,
        price: Text = None,
        mix: Text = None,
        concurrency: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    ) -> Response:
        """`computeledger figures check FILE --format json`: a figures file the server was
        started with, by name."""
        path = _named(settings.figures, name, "figures")
        got = application.figures_check(
            application.FiguresAsk(path, section, fleet_gpu, price, mix, concurrency)
        )
        return Response(got.json() + "\n", media_type="application/json")

    @api.get(f"{PREFIX}/figures/compare", responses=ANSWERS)
    def figures_compare(
        request: Request, name: Text = None, basis: str = "BilledCost", entity: Text = None
    ) -> Response:
        """`computeledger figures compare FILE --basis B [--entity E] --format json`: a
        figures file the server was started with, by name, against the ledger."""
        path = _named(settings.figures, name, "figures")
        return _answer(request, lambda lg: application.figures_compare(lg, path, basis, entity))

    @api.get(f"{PREFIX}/capacity/throughput", responses=ANSWERS)
    def capacity_throughput(
        model: str,
        gpu: str,
        input_tokens: Annotated[float, Query(alias="input", gt=0, le=10_000_000)] = 1000,
        output_tokens: Annotated[float, Query(alias="output", gt=0, le=10_000_000)] = 500,
        cache_hit: Annotated[float, Query(ge=0, le=1)] = 0.0,
        precision: str = "fp8",
        tp: Annotated[int | None, Query(ge=1, le=1024)] = None,
        ep: Annotated[int, Query(ge=1, le=1024)] = 1,
        pp: Annotated[int, Query(ge=1, le=1024)] = 1,
        tpot_ms: Annotated[float | None, Query(gt=0)] = None,
        ttft_ms: Annotated[float | None, Query(gt=0)] = None,
        price: Text = None,
        provider: Text = None,
        disaggregated: bool = False,
        concurrency: Annotated[int | None, Query(ge=1, le=100_000)] = None,
        engine: Text = None,
    ) -> Response:
        """`computeledger capacity throughput --model M --gpu G ... --format json` (estimated)."""
        ask = application.ThroughputAsk(model, gpu, input_tokens, output_tokens, cache_hit, precision, tp, ep,
                                        pp, tpot_ms, ttft_ms, price, provider, disaggregated, concurrency,
                                        engine)  # fmt: skip
        got = application.capacity_throughput(ask)
        return Response(got.json() + "\n", media_type="application/json")
