"""Every command of the README, as written, in order, from a folder outside the repository:
exit 0 and no traceback (the two set-up commands are the CI's own)."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from computeledger.cli import app

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # the whole README: a 12-month lab, and a local Spark


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of each fenced block, continuation lines joined."""
    found = re.findall(r"```(sh|python)\n(.*?)```", text, flags=re.S)
    return [(lang, code.replace("\\\n", " ")) for lang, code in found]


def commands(text: str) -> list[list[str] | str]:
    out: list[list[str] | str] = []
    for lang, code in blocks(text):
        if "python3 -m venv" in code:
            continue  # the set-up commands: run by CI on a fresh clone
        if lang == "python":
            out.append(code)
            continue
        for line in code.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(shlex.split(line, comments=True))
    return out


def test_every_readme_command_runs_from_outside_the_repository(tmp_path, monkeypatch):
    """In this process (one Python start, one Spark session): the installed CLI's own entry,
    the argv as written, the working folder a temporary one."""
    assert shutil.which("computeledger", path=str(Path(sys.executable).parent)), "installed beside Python"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COMPUTELEDGER_LEDGER", raising=False)
    monkeypatch.delenv("COMPUTELEDGER_BACKEND", raising=False)
    runner = CliRunner()
    monkeypatch.setattr("uvicorn.run", _one_request)  # `serve` answers one request, then the README goes on
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where its snapshots go
    steps = commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(steps) > 40
    for step in steps:
        if isinstance(step, str):
            exec(compile(step, "README.md", "exec"), {})  # the README's Python example
            continue
        assert step[0] == "computeledger", step
        r = runner.invoke(app, step[1:])
        shown = " ".join(step)
        assert r.exit_code == 0, f"{shown}\n{r.output[-3000:]}\n{r.exception!r}"
        assert "Traceback" not in r.output, shown


def _one_request(api, host: str, port: int, **_) -> None:
    """What `computeledger serve` would run: here its application answers one request."""
    from fastapi.testclient import TestClient

    assert (host, port) == ("127.0.0.1", 8765)
    with TestClient(api) as client:  # started and stopped: its snapshots go with it
        got = client.get("/api/v1/summary?by=provider")
    assert got.status_code == 200 and got.json(), got.text
