"""The server: its JSON is the command's, byte for byte, on the six-month lab; bad
parameters get the command's message; the token and loopback rules; no URL reads a file
or writes; an ingest in another process goes on while it serves."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from computeledger.cli import app
from computeledger.shipped import FOCUS_SAMPLE

#: (API path, the same question as command arguments): every endpoint, some with options
SAME = [
    ("/api/v1/summary", ["summary"]),
    ("/api/v1/summary?by=provider,month", ["summary", "--by", "provider,month"]),
    ("/api/v1/summary?by=workload,model", ["summary", "--by", "workload,model"]),
    ("/api/v1/charges?limit=7&largest=true", ["charges", "--limit", "7", "--largest"]),
    ("/api/v1/charges?where=provider=Microsoft&where=month=2024-03&limit=3",
     ["charges", "--where", "provider=Microsoft", "--where", "month=2024-03", "--limit", "3"]),
    ("/api/v1/unit-costs?by=model,quarter", ["unit-costs", "--by", "model,quarter"]),
    ("/api/v1/margin?by=channel&basis=billed", ["margin", "--by", "channel", "--basis", "billed"]),
    ("/api/v1/statement?period=month&basis=cash", ["statement", "--period", "month", "--basis", "cash"]),
    ("/api/v1/statement?period=quarter&from=2024-Q2&to=2024-Q2",
     ["statement", "--period", "quarter", "--from", "2024-Q2", "--to", "2024-Q2"]),
    ("/api/v1/bridge?period=2024-Q1", ["statement", "--bridge", "--period", "2024-Q1"]),
    ("/api/v1/commitments", ["commitments"]),
    ("/api/v1/commitments?schedule=true", ["commitments", "--schedule"]),
    ("/api/v1/credits?by_month=true", ["credits", "--by-month"]),
    ("/api/v1/forecast/inference?horizon=3&by=provider", ["forecast", "inference", "--horizon", "3", "--by",
                                                          "provider"]),
    ("/api/v1/forecast/cash?horizon=6", ["forecast", "cash", "--horizon", "6"]),
    ("/api/v1/forecast/compute?above=1M&by=2027-12",
     ["forecast", "compute", "--above", "1M", "--by", "2027-12"]),
    ("/api/v1/scenario", ["scenario", "run"]),
    ("/api/v1/anomalies?by=provider", ["anomalies", "--by", "provider"]),
    ("/api/v1/revenue-share", ["revenue-share"]),
    ("/api/v1/ingests", ["ingests"]),
    ("/api/v1/coverage?dimension=model", ["coverage", "--dimension", "model"]),
    ("/api/v1/figures/compare", ["figures", "compare", "openai-azure-2025"]),
    ("/api/v1/figures/compare?basis=EffectiveCost&entity=OpenAI",
     ["figures", "compare", "openai-azure-2025", "--basis", "EffectiveCost", "--entity", "OpenAI"]),
]  # fmt: skip
#: commands that read no ledger, and no contracts
LEDGERLESS = [
    ("/api/v1/figures/check", ["figures", "check", "openai-azure-2025"]),
    ("/api/v1/figures/check?section=contradictions", ["figures", "check", "openai-azure-2025", "--section",
                                                      "contradictions"]),
    ("/api/v1/capacity/throughput?model=Llama-3.3-70B&gpu=H100%20SXM&concurrency=16",
     ["capacity", "throughput", "--model", "Llama-3.3-70B", "--gpu", "H100 SXM", "--concurrency", "16"]),
]  # fmt: skip


@pytest.fixture(scope="module")
def served(make_app, books):
    """(client, ledger, contracts): the lab served as `serve --contracts` serves it."""
    ledger, _, contracts = books
    client = TestClient(make_app(ledger, contracts))
    return client, ledger, contracts


def _command(args: list[str], ledger: Path | None, contracts: Path | None) -> str:
    extra = ["--format", "json"]
    if ledger is not None:
        extra += ["--ledger", str(ledger)]
    if contracts is not None and args[0] in ("unit-costs", "statement", "commitments", "credits",
                                             "forecast", "scenario", "revenue-share"):  # fmt: skip
        extra += ["--contracts", str(contracts)]
    got = CliRunner().invoke(app, [*args, *extra])
    assert got.exit_code == 0, (args, got.output)
    return got.stdout


@pytest.mark.parametrize(("url", "args"), SAME, ids=[u for u, _ in SAME])
def test_every_endpoint_answers_what_its_command_prints_byte_for_byte(served, url, args):
    client, ledger, contracts = served
    got = client.get(url)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    assert got.text == _command(args, ledger, contracts)
    assert json.loads(got.text)  # an answer, not an empty list
    assert got.headers["x-ledger-as-of"].endswith("Z")


@pytest.mark.parametrize(("url", "args"), LEDGERLESS, ids=[u for u, _ in LEDGERLESS])
def test_the_ledgerless_endpoints_answer_what_their_commands_print(served, url, args):
    client, _, _ = served
    got = client.get(url)
    assert got.status_code == 200, got.text
    assert got.text == _command(args, None, None)


def test_money_is_a_string_and_the_totals_are_the_ledgers(served):
    from computeledger import open_ledger
    from computeledger.output import decimal_text

    client, ledger, _ = served
    rows = client.get("/api/v1/summary?by=provider").json()
    with open_ledger(ledger, read_only=True) as lg:
        want = {
            r["provider"]: decimal_text(r["BilledCost"])
            for r in lg.summary("provider").to_pyarrow().to_pylist()
        }
    assert {r["provider"]: r["BilledCost"] for r in rows} == want
    assert len(want) == 5  # AWS, CoreWeave, Google Cloud, Microsoft, and the GPU cloud's invoices


@pytest.mark.parametrize(
    ("url", "args"),
    [
        ("/api/v1/summary?by=nosuch", ["summary", "--by", "nosuch"]),
        ("/api/v1/forecast/nosuch", ["forecast", "nosuch"]),
        ("/api/v1/forecast/compute?by=2025-12", ["forecast", "compute", "--by", "2025-12"]),
        ("/api/v1/bridge?period=2031-Q1", ["statement", "--bridge", "--period", "2031-Q1"]),
        ("/api/v1/charges?where=nocolumn=1", ["charges", "--where", "nocolumn=1"]),
        ("/api/v1/margin?basis=yearly", ["margin", "--basis", "yearly"]),
        ("/api/v1/quarantine?ingest=999", ["quarantine", "--ingest", "999"]),
        ("/api/v1/coverage?dimension=nosuch", ["coverage", "--dimension", "nosuch"]),
        ("/api/v1/figures/compare?basis=Cost",
         ["figures", "compare", "openai-azure-2025", "--basis", "Cost"]),
        ("/api/v1/capacity/throughput?model=nosuch&gpu=H100%20SXM",
         ["capacity", "throughput", "--model", "nosuch", "--gpu", "H100 SXM"]),
        ("/api/v1/capacity/throughput?model=Llama-3.3-70B&gpu=%0A",  # found by schemathesis: was two lines
         ["capacity", "throughput", "--model", "Llama-3.3-70B", "--gpu", "\n"]),
        ("/api/v1/capacity/throughput?model=Llama-3.3-70B&gpu=H100%20SXM&provider=%0A",
         ["capacity", "throughput", "--model", "Llama-3.3-70B", "--gpu", "H100 SXM", "--provider", "\n"]),
    ],
)  # fmt: skip
def test_a_bad_parameter_gets_400_and_the_commands_one_line_message(served, url, args):
    client, ledger, _ = served
    got = client.get(url)
    assert got.status_code == 400, got.text
    message = got.json()["error"]
    extra = ["--ledger", str(ledger)] if args[0] not in ("capacity",) else []
    cli = CliRunner().invoke(app, [*args, *extra])
    assert cli.exit_code == 2
    assert " ".join(cli.stderr.split()) == " ".join(f"error: {message}".split())
    assert "\n" not in message


@pytest.mark.parametrize(
    ("url", "name"),
    [("/api/v1/charges?limit=abc", "limit"), ("/api/v1/forecast/cash?horizon=0", "horizon"),
     ("/api/v1/forecast/cash?horizon=99999", "horizon"), ("/api/v1/charges?limit=0", "limit"),
     ("/api/v1/capacity/throughput?model=x&gpu=y&cache_hit=2", "cache_hit"),
     ("/api/v1/capacity/throughput?gpu=y", "model")],
)  # fmt: skip
def test_a_parameter_of_the_wrong_kind_gets_400_naming_it(served, url, name):
    client, _, _ = served
    got = client.get(url)
    assert got.status_code == 400
    assert got.json()["error"].startswith(f"{name}: ")


@pytest.mark.parametrize(
    "url",
    ["/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/api/v1/..%2f..%2fetc%2fpasswd",
     "/static/../../pyproject.toml", "/api/v1/figures/check?name=../../../etc/passwd",
     "/api/v1/figures/check?name=/etc/passwd", "/api/v1/scenario?name=/etc/passwd"],
)  # fmt: skip
def test_no_url_reaches_a_file(served, url):
    client, _, _ = served
    got = client.get(url)
    assert got.status_code in (400, 404)
    assert "root:" not in got.text
    assert "[project]" not in got.text


def test_no_endpoint_writes_and_the_ledger_is_as_it_was(served):
    client, ledger, _ = served
    before = hashlib.sha256(ledger.read_bytes()).hexdigest()
    for path in [r.path for r in client.app.routes if r.path.startswith("/api/v1/")]:
        path = path.replace("{series}", "compute")
        for method in ("post", "put", "patch", "delete"):
            assert getattr(client, method)(path).status_code == 405, (method, path)
    client.get("/api/v1/summary")
    assert hashlib.sha256(ledger.read_bytes()).hexdigest() == before


def test_a_foreign_host_name_is_refused(served):
    client, _, _ = served
    assert client.get("/api/v1/summary", headers={"host": "evil.example"}).status_code == 400


def test_with_a_token_every_request_without_it_gets_401(make_app, books):
    ledger, _, contracts = books
    token = "s3cret-s3cret-s3cret"
    client = TestClient(make_app(ledger, contracts, token))
    for url in ("/", "/api/v1/summary", "/openapi.json", "/api/v1/status"):
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"authorization": "Bearer wrong-wrong-wrong-wrong"}).status_code == 401
    assert client.get("/api/v1/summary", headers={"authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/login?token=nope", follow_redirects=False).status_code == 401
    login = client.get(f"/login?token={token}", follow_redirects=False)
    assert login.status_code == 303
    assert "httponly" in login.headers["set-cookie"].lower()
    assert client.get("/api/v1/status").status_code == 200  # the cookie the login set


def test_binding_beyond_loopback_needs_a_token(books, tmp_path):
    ledger, _, _ = books
    got = CliRunner().invoke(app, ["serve", "--ledger", str(ledger), "--host", "0.0.0.0"])
    assert got.exit_code == 2
    assert "--host 0.0.0.0: beyond loopback the server needs --token" in " ".join(got.stderr.split())
    short = CliRunner().invoke(app, ["serve", "--ledger", str(ledger), "--token", "short"])
    assert short.exit_code == 2 and "at least 16 characters" in short.stderr
    missing = CliRunner().invoke(app, ["serve", "--ledger", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "no ledger at" in missing.stderr


@pytest.mark.slow  # a second Python process ingesting
def test_an_ingest_in_another_process_goes_on_while_it_serves(make_app, books, tmp_path):
    ledger = tmp_path / "ledger.duckdb"
    shutil.copy(books[0], ledger)
    client = TestClient(make_app(ledger, books[2]))
    first = client.get("/api/v1/summary?by=provider")
    assert first.status_code == 200
    providers = {r["provider"] for r in first.json()}
    assert "Microsoft" in providers
    status = client.get("/api/v1/status").json()
    # another process writes while the server has read: DuckDB would refuse it if the server held the file
    done = subprocess.run(
        [sys.executable, "-c", "from computeledger.cli import main; main()", "ingest", str(FOCUS_SAMPLE),
         "--ledger", str(ledger)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    after = client.get("/api/v1/status").json()
    assert after["charges"] > status["charges"]
    assert after["as_of"] >= status["as_of"]
    again = client.get("/api/v1/summary?by=provider")
    assert {r["provider"] for r in again.json()} > providers  # the sample's providers are there now


def test_the_openapi_names_every_endpoint(served):
    client, _, _ = served
    doc = client.get("/openapi.json").json()
    assert {p for p in doc["paths"]} >= {
        u.split("?")[0]
        .replace("inference", "{series}")
        .replace("cash", "{series}")
        .replace("compute", "{series}")
        for u, _ in SAME + LEDGERLESS
    }


def test_an_engine_out_of_memory_is_a_503_in_the_commands_words(make_app, books, monkeypatch):
    ledger, _, contracts = books
    monkeypatch.setenv("COMPUTELEDGER_MEMORY_LIMIT", "1MB")
    client = TestClient(make_app(ledger, contracts))
    got = client.get("/api/v1/summary?by=workload,model")
    assert got.status_code == 503
    assert got.json()["error"].startswith("the engine ran out of memory (the ledger is as it was")
    monkeypatch.setenv("COMPUTELEDGER_MEMORY_LIMIT", "1GB")
    assert client.get("/api/v1/summary?by=workload,model").status_code == 200  # the server goes on


def test_the_quarantine_and_the_ingests_are_served_as_their_commands_print_them(make_app, tmp_path):
    """A ledger with rows quarantined: the rows, one ingest's, and the ingests, as the
    commands print them, byte for byte."""
    from computeledger import open_ledger
    from tests.conftest import read_rows, write_rows

    header, rows = read_rows(FOCUS_SAMPLE)
    cost = header.index("BilledCost")
    for i in (2, 5, 9):
        rows[i][cost] = f"bad-{i}"
    bill = write_rows(tmp_path / "bill.csv", header, rows[:40])
    ledger = tmp_path / "ledger.duckdb"
    with open_ledger(ledger) as lg:
        lg.ingest([bill, FOCUS_SAMPLE])
    client = TestClient(make_app(ledger))
    for url, args in [("/api/v1/quarantine?limit=2", ["quarantine", "--limit", "2"]),
                      ("/api/v1/quarantine?ingest=1", ["quarantine", "--ingest", "1"]),
                      ("/api/v1/ingests", ["ingests"])]:  # fmt: skip
        got = client.get(url)
        assert got.status_code == 200, got.text
        assert got.text == _command(args, ledger, None), url
    lines = [r["source_line"] for r in client.get("/api/v1/quarantine").json()]
    assert lines == [4, 7, 11]  # each bad row, by its line in the file (the header is line 1)
    assert "bad-5" in client.get("/api/v1/quarantine?limit=2").json()[1]["reason"]
    assert [r["rows_quarantined"] for r in client.get("/api/v1/ingests").json()] == [3, 0]
