"""The operating point at a concurrency, against InferenceMAX's serving runs: MoE models
(DeepSeek-R1-0528 FP8 on SGLang, gpt-oss-120b MXFP4 on vLLM) on H200 and B200."""

from __future__ import annotations

import json
import statistics

import pytest
from typer.testing import CliRunner

from computeledger.capacity import api, calibrate, catalog
from computeledger.capacity.operating import parse_price
from computeledger.capacity.physics import Setup
from computeledger.cli import app

PRICE = parse_price("3")


@pytest.fixture(scope="module")
def runs():
    return calibrate.read_measurements(calibrate.shipped("inferencemax.csv"))


def _point(rows: list[dict], name: str) -> dict:
    return next(r for r in rows if r["point"] == name)


def test_sixty_four_requests_in_flight_on_h200_are_the_benchmarks_run():
    """DeepSeek-R1-0528 FP8 on 8 H200 at 1k/1k with 64 requests in flight: InferenceMAX
    measured 236.5 output tokens/s per GPU at a median TPOT of 33.16 ms (the old question,
    the throughput at that TPOT, gave 26.9)."""
    rows = api.throughput("DeepSeek-R1-0528", "H200 SXM", 1024, 1024, tp=8, concurrency=64, price=PRICE)
    got = _point(rows, "concurrency 64")
    assert got["batch"] == 64 and got["calibration"] == "fitted (sglang)"
    assert got["output_tps_per_gpu"] == pytest.approx(236.55, rel=0.05)
    assert got["tpot_ms"] == pytest.approx(33.16, rel=0.05)
    assert got["total_tps_per_gpu"] == pytest.approx(2 * got["output_tps_per_gpu"], abs=0.2)  # 1k in, 1k out
    assert {r["point"] for r in rows} == {"throughput-optimal", "concurrency 64"}


@pytest.mark.slow  # three fits of the grid search: the full suite runs it
def test_every_run_in_sample_and_one_gpu_left_out(runs):
    """In sample, the median error is 3.3%. Fitted on one GPU's runs and asked for the
    other's (leave one GPU out), it is 11.4% (H200 left out) and 11.8% (B200): within the
    20% the issue asks. Before sliding windows and Hopper's MXFP4 dequantisation: 21.8%
    and 21.6%."""
    fitted = {(c.gpu.lower(), c.engine, c.precision): c for c in calibrate.fit(runs, "inferencemax.csv")}
    assert statistics.median(abs(e) for _, _, e in calibrate.errors_of(runs, fitted)) == pytest.approx(
        0.0327, abs=0.0005
    )
    folds = {}
    for gpu in ("H200 SXM", "B200"):
        train = calibrate.fit([m for m in runs if m.setup.gpu.gpu != gpu], "train")
        errors = []
        for m in (m for m in runs if m.setup.gpu.gpu == gpu):
            c = next(c for c in train if c.engine == m.engine and c.precision == m.setup.precision)
            errors += [abs(e) for _, _, e in calibrate.errors_of([m], c)]
        folds[gpu] = (len(errors), round(statistics.median(errors), 4))
    assert folds == {"H200 SXM": (66, 0.1136), "B200": (75, 0.118)}
    assert all(median <= 0.20 for _, median in folds.values())


def test_gpt_oss_caches_its_sliding_window_layers_for_128_tokens_only():
    """gpt-oss alternates full attention with a 128-token sliding window (18 of 120b's 36
    layers): at 8k tokens a sequence caches 18 x 8192 + 18 x 128 layer-tokens, not 36 x 8192."""
    from computeledger.capacity.physics import kv_bytes, kv_bytes_per_token

    oss = catalog.find(catalog.models(), "gpt-oss-120b", "model")
    per_layer = 2 * 8 * 64 * 2  # K and V, 8 KV heads of 64, BF16
    assert kv_bytes_per_token(oss, "bf16") == 36 * per_layer
    assert kv_bytes(oss, "bf16", 8192) == (18 * 8192 + 18 * 128) * per_layer
    assert kv_bytes(oss, "bf16", 100) == 36 * 100 * per_layer  # inside the window: every layer
    llama = catalog.find(catalog.models(), "Llama-3.3-70B", "model")
    assert kv_bytes(llama, "fp8", 8192) == 8192 * kv_bytes_per_token(llama, "fp8")


def test_hopper_spends_vector_time_dequantising_mxfp4_and_blackwell_none():
    """A decode step of gpt-oss on H200 pays 4 vector operations per MXFP4 weight it reads
    (67 TFLOP/s of FP32); B200 takes FP4 on its tensor cores and pays none."""
    from computeledger.capacity import physics

    oss = catalog.find(catalog.models(), "gpt-oss-120b", "model")
    h200, b200 = catalog.find(catalog.gpus(), "H200 SXM", "gpu"), catalog.find(catalog.gpus(), "B200", "gpu")
    read = 1e9 * catalog.BYTES["mxfp4"]  # a billion weights
    assert physics._dequantise(Setup(oss, h200, "mxfp4", tp=2), read) == pytest.approx(4e9 / (2 * 67e12))
    assert physics._dequantise(Setup(oss, b200, "mxfp4", tp=2), read) == 0.0
    assert h200.tflops_fp32 == 67 and b200.tflops_fp32 is None


def test_mxfp4_weights_take_four_and_a_quarter_bits_and_hopper_computes_them_in_bf16():
    h200, b200 = catalog.find(catalog.gpus(), "H200 SXM", "gpu"), catalog.find(catalog.gpus(), "B200", "gpu")
    assert h200.tflops("mxfp4") == h200.tflops_bf16 and b200.tflops("mxfp4") == b200.tflops_fp4 == 9000
    oss = catalog.find(catalog.models(), "gpt-oss-120b", "model")
    setup = Setup(oss, h200, "mxfp4", tp=1)
    assert catalog.BYTES["mxfp4"] == 0.53125 and setup.kv_precision == "bf16"
    with pytest.raises(Exception, match="has no fp4 tensor cores"):
        Setup(oss, h200, "fp4", tp=1)


def test_the_command_answers_at_a_concurrency_and_says_which_calibration():
    argv = ["capacity", "throughput", "--model", "gpt-oss-120b", "--gpu", "H200 SXM", "--precision", "mxfp4",
            "--tp", "1", "--input", "1024", "--output", "1024"]  # fmt: skip
    argv += ["--concurrency", "64", "--price", "3"]
    got = CliRunner().invoke(app, [*argv, "--format", "json"])
    assert got.exit_code == 0, got.output
    row = _point(json.loads(got.output), "concurrency 64")
    assert row["calibration"] == "fitted (vllm)" and row["batch"] == 64
    assert isinstance(row["usd_per_m_output"], str)  # money as text
    too_many = CliRunner().invoke(
        app, [*argv[:-4], "--concurrency", "100000", "--price", "3", "--format", "json"]
    )
    assert too_many.exit_code == 0, too_many.output
    assert _point(json.loads(too_many.output), "concurrency 100000")["setup"] == (
        "100000 requests do not fit in memory on 1 setups"
    )
    bad = CliRunner().invoke(app, [*argv[:-4], "--concurrency", "0", "--price", "3"])
    assert bad.exit_code == 2 and "--concurrency 0: a whole number of requests, at least 1" in bad.output
    engine = CliRunner().invoke(app, [*argv, "--engine", "tgi"])
    assert engine.exit_code == 2
    assert "--engine 'tgi': the calibrations have sglang, trtllm, vllm" in engine.output


def test_a_gpu_without_a_concurrency_calibration_borrows_and_says_so():
    rows = api.throughput("DeepSeek-R1-0528", "MI355X", 1024, 1024, tp=8, concurrency=32, price=PRICE)
    note = _point(rows, "concurrency 32")["calibration"]
    assert note.startswith("borrowed from") and note.endswith("(sglang)")
