"""The synthetic company shared by the synth tests: four months from May 2024, seed 11."""

from __future__ import annotations

import csv

import pytest

from computeledger.synth import generate


def truth(folder, name: str = "costs") -> list[dict]:
    with (folder / "truth" / f"{name}.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def company(tmp_path_factory):
    out = tmp_path_factory.mktemp("company")
    result = generate(out, months=4, start="2024-05", seed=11)
    return out, result
