"""Fixtures of the capacity model: catalogues, a fit of the shipped measurements, a lab ledger."""

from __future__ import annotations

import pytest

from computeledger.capacity import calibrate, catalog

CALIBRATION_SET = ("trtllm_1.0.csv", "trtllm_0.9_a100_l40s.csv", "inferencemax.csv")
HELD_OUT = "trtllm_0.9_hopper.csv"


def calibration_for(gpu: str, precision: str = "fp8"):
    return catalog.calibration_for(catalog.calibrations(), gpu, precision)[0]


def model(name: str):
    return catalog.find(catalog.models(), name, "model")


def gpu(name: str):
    return catalog.find(catalog.gpus(), name, "gpu")


@pytest.fixture(scope="session")
def fitted():
    """The calibration fitted afresh on the shipped calibration set (about 10 s)."""
    rows = [m for name in CALIBRATION_SET for m in calibrate.read_measurements(calibrate.shipped(name))]
    return calibrate.fit(rows, "; ".join(CALIBRATION_SET))


@pytest.fixture(scope="session")
def lab_ledger(allocated):
    """The shared test company with its bills, token usage and allocation."""
    path, _, out = allocated
    return path, out
