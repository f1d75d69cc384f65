"""Every command of the README, as written, in order, from a folder outside the repository:
exit 0 and no traceback (the two set-up commands are the CI's own)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_every_readme_command_runs_from_outside_the_repository(tmp_path):
    exe = shutil.which("computeledger", path=str(Path(sys.executable).parent))
    assert exe, "computeledger is installed beside the test's Python"
    steps = commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(steps) > 40
    for step in steps:
        if isinstance(step, str):
            argv, shown = [sys.executable, "-c", step], "python: " + step.splitlines()[0]
        else:
            assert step[0] == "computeledger", step
            argv, shown = [exe, *step[1:]], " ".join(step)
        r = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"{shown}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
        assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, shown
