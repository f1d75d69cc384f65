"""Figures and demand files as an adversary writes them: one clear line each, fast."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from computeledger.cli import app

runner = CliRunner()
HEAD = "id,entity,metric,period,scope,value\n"
DEMAND = "- {model: Llama-3.3-70B, input_tokens_per_day: %s, output_tokens_per_day: 1, input_per_request: 1000, output_per_request: 100}\n"  # noqa: E501


def _bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\nfigures: []\n"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("y.csv", HEAD + "a,X,costs,9999-12,,1B\n", "not a period"),
        ("q.csv", HEAD + "a,X,costs,9999-Q4,,1B\n", "not a period"),
        ("digits.csv", HEAD + "a,X,costs,2024,," + "9" * 5000 + "\n", "not an amount"),
        ("inf.yaml", "assumptions:\n  growth: [0, .inf]\nfigures: []\n", "not a usable number"),
        (
            "nan.yaml",
            "figures:\n- {id: a, entity: X, metric: costs, period: 2024, value: .nan}\n",
            "not an amount",
        ),
        ("deep.yaml", "figures: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 32 deep"),
        ("bomb.yaml", _bomb(), "anchors and aliases are not read"),
    ],
)
def test_figures_files(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    r = runner.invoke(app, ["figures", "check", str(path)])
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, r.output


@pytest.mark.parametrize("value", [".nan", ".inf", "9" * 400])
def test_demand_files(tmp_path, value):
    path = tmp_path / "demand.yaml"
    path.write_text(DEMAND % value)
    r = runner.invoke(app, ["capacity", "fleet", str(path)])
    assert r.exit_code == 2 and "not a usable number" in r.output, r.output


def test_a_quoted_newline_keeps_the_line_numbers_true(tmp_path):
    """Issue 14.18: the record after a value spanning three lines starts on line 5, not 3."""
    path = tmp_path / "multi.csv"
    path.write_text(HEAD + 'a,"X\nand\nY",costs,2024,,1B\nb,X,costs,2024,,12 bananas\n')
    r = runner.invoke(app, ["figures", "check", str(path)])
    assert r.exit_code == 2 and "multi.csv, line 5, column value: not an amount" in " ".join(r.output.split())
