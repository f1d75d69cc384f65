"""Calibration: reproducible from the shipped measurements, and validated on held-out ones."""

from __future__ import annotations

import statistics

import pytest

from computeledger.capacity import calibrate, catalog
from computeledger.errors import UsageError
from tests.capacity.conftest import HELD_OUT

pytestmark = pytest.mark.slow  # the grid search over every shipped measurement


def test_the_shipped_calibration_is_what_the_shipped_measurements_fit(fitted):
    shipped = sorted(catalog.calibrations().values(), key=lambda c: (c.gpu, c.engine, c.precision))
    assert [(c.gpu, c.engine, c.precision) for c in fitted] == [
        (c.gpu, c.engine, c.precision) for c in shipped
    ]
    assert fitted == shipped
    assert {(c.gpu, c.engine): c.fitted_on for c in fitted} == {
        ("A100 SXM", "trtllm"): 24, ("B200", "trtllm"): 58, ("GB200", "trtllm"): 40,
        ("H100 SXM", "trtllm"): 52, ("H200 SXM", "trtllm"): 60, ("L40S", "trtllm"): 24,
        ("B200", "sglang"): 19, ("B200", "vllm"): 56, ("H200 SXM", "sglang"): 15, ("H200 SXM", "vllm"): 51,
    }  # fmt: skip
    assert {c.source for c in fitted if c.engine != "trtllm"} == {"inferencemax.csv"}


def test_held_out_error_is_within_a_quarter(fitted):
    """TensorRT-LLM 0.9's H100 and H200 FP8 table (other models, static batches, an older
    release) is never fitted; the model's median error on it is the validation figure."""
    table = {(c.gpu.lower(), c.engine, c.precision): c for c in fitted}
    errors = calibrate.errors_of(calibrate.read_measurements(calibrate.shipped(HELD_OUT)), table)
    assert len(errors) == 48
    median = statistics.median(abs(e) for _, _, e in errors)
    assert median <= 0.25
    assert median == pytest.approx(0.1828, abs=0.0005)
    within = sum(abs(e) <= 0.25 for _, _, e in errors)
    assert within == 31


def test_in_sample_error_of_each_calibration(fitted):
    assert {(c.gpu, c.engine): c.median_abs_error for c in fitted} == {
        ("A100 SXM", "trtllm"): 0.0589, ("B200", "trtllm"): 0.1786, ("GB200", "trtllm"): 0.0779,
        ("H100 SXM", "trtllm"): 0.1581, ("H200 SXM", "trtllm"): 0.1338, ("L40S", "trtllm"): 0.0916,
        ("B200", "sglang"): 0.077, ("B200", "vllm"): 0.034, ("H200 SXM", "sglang"): 0.0323,
        ("H200 SXM", "vllm"): 0.0254,
    }  # fmt: skip


def test_a_calibration_written_out_reads_back(tmp_path, fitted):
    path = tmp_path / "calibration.csv"
    calibrate.write_calibration(fitted, path)
    assert sorted(catalog.calibrations(path).values(), key=lambda c: (c.gpu, c.engine, c.precision)) == fitted


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({"tp": "two"}, "line 2, column tp: not a number: 'two'"),
        ({"output_tokens_per_s": "0"}, "line 2, column output_tokens_per_s: must be positive: '0'"),
        ({"gpus": "4"}, "line 2, column gpus: 4 but the parallelism uses 2"),
        ({"model": "GPT-9"}, "line 2: unknown model 'GPT-9'"),
        ({"precision": "fp4"}, "line 2: H100 SXM has no fp4 tensor cores"),
    ],
)
def test_a_bad_measurement_names_the_line_and_column(tmp_path, cells, message):
    row = {"model": "Llama-3.3-70B", "gpu": "H100 SXM", "precision": "fp8", "engine": "trtllm", "tp": "2",
           "pp": "1", "ep": "1", "gpus": "2", "input_tokens": "128", "output_tokens": "128", "batch": "",
           "output_tokens_per_s": "6378", "source": "test"} | cells  # fmt: skip
    path = tmp_path / "m.csv"
    path.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n")
    with pytest.raises(UsageError) as e:
        calibrate.read_measurements(path)
    assert str(e.value).startswith(f"{path}, {message}")


def test_a_fit_moves_towards_its_measurements(tmp_path):
    """A single measurement twice as fast as the shipped calibration predicts is fitted
    to within a few percent."""
    rows = calibrate.read_measurements(calibrate.shipped("trtllm_1.0.csv"))
    m = next(r for r in rows if r.setup.model.model == "Llama-3.1-8B" and r.setup.gpu.gpu == "H100 SXM")
    shipped = catalog.calibrations()[("h100 sxm", "trtllm", "fp8")]
    doubled = [calibrate.Measurement(**{**m.__dict__, "output_tps": 2 * calibrate.predict(m, shipped)})]
    c = calibrate.fit_group(doubled)
    assert calibrate.predict(doubled[0], c) == pytest.approx(doubled[0].output_tps, rel=0.03)
