"""No command changes a file it was given: whatever the command and whichever of its own
inputs it is pointed at as its output, every input is byte for byte as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from computeledger.cli import app

pytestmark = pytest.mark.slow  # every command over its inputs

SCENARIO = b'[scenario]\nmonths = 6\ndraws = 200\n[traffic]\ngrowth = "0.02"\n'
BUDGETS = b'[[budgets]]\nname = "b"\nperiod = "2024-Q1"\namount = "9000000"\n'

#: a command line over the inputs {ledger}, {contracts}, {scenario}, {budgets}
COMMANDS = [
    ("statement", "--ledger", "{ledger}", "--contracts", "{contracts}"),
    ("statement", "--bridge", "--period", "2024-Q2", "--ledger", "{ledger}", "--contracts", "{contracts}"),
    ("margin", "--ledger", "{ledger}", "--format", "csv"),
    ("credits", "--ledger", "{ledger}", "--contracts", "{contracts}"),
    ("commitments", "--schedule", "--ledger", "{ledger}", "--contracts", "{contracts}"),
    ("scenario", "run", "{scenario}", "--ledger", "{ledger}", "--contracts", "{contracts}"),
    ("budgets", "{budgets}", "--ledger", "{ledger}"),
    ("forecast", "cash", "--horizon", "3", "--ledger", "{ledger}", "--contracts", "{contracts}"),
]
INPUTS = ("{ledger}", "{contracts}", "{scenario}", "{budgets}")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    command=st.sampled_from(COMMANDS),
    out=st.sampled_from(INPUTS),
    force=st.booleans(),
    images=st.booleans(),
)
def test_no_command_changes_a_file_it_was_given(bases, tmp_path_factory, command, out, force, images):
    folder = tmp_path_factory.mktemp("given")
    places = {
        "{ledger}": folder / "ledger.duckdb",
        "{contracts}": folder / "contracts.toml",
        "{scenario}": folder / "s.toml",
        "{budgets}": folder / "b.toml",
    }
    shutil.copyfile(bases["lab"], places["{ledger}"])
    shutil.copyfile(bases["contracts"], places["{contracts}"])
    places["{scenario}"].write_bytes(SCENARIO)
    places["{budgets}"].write_bytes(BUDGETS)
    before = {p: p.read_bytes() for p in places.values()}

    def fill(argv) -> list[str]:
        return [str(places.get(a, a)) for a in argv]

    runner = CliRunner()
    ran = runner.invoke(app, fill(command))
    assert ran.exit_code == 0, ran.output
    # the report, asked to write over one of them: over a file it reads, even with --force;
    # over another command's input, unless --force names the intent
    reads = out in ("{ledger}", "{contracts}")
    report = ["report", "--ledger", "{ledger}", "--contracts", "{contracts}", "--out", out]
    report += ["--force"] * (force and reads) + ["--images", str(folder / "charts")] * images
    refused = runner.invoke(app, fill(report))
    assert refused.exit_code == 2, refused.output
    assert ("this command reads" if reads else "--force") in " ".join(refused.output.split()), refused.output
    assert "Traceback" not in refused.output
    for path, data in before.items():
        assert Path(path).read_bytes() == data, f"{path.name} changed"
    assert not (folder / "charts").exists()
