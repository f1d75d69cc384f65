"""The roofline model: memory, the batch that fits, bandwidth- and compute-bound decode, MoE."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computeledger.capacity.physics import (
    Setup,
    Workload,
    decode_step,
    kv_bytes_per_token,
    kv_capacity_tokens,
    max_batch,
    min_gpus,
    point,
    prefill_time,
    weight_bytes,
)
from computeledger.errors import UsageError
from tests.capacity.conftest import calibration_for, gpu, model


def test_kv_cache_per_token():
    # GQA: layers x (K and V) x KV heads x head dim x bytes
    assert kv_bytes_per_token(model("Llama-3.3-70B"), "fp8") == 80 * 2 * 8 * 128
    assert kv_bytes_per_token(model("Llama-3.1-405B"), "bf16") == 516_096  # as DeepSeek's paper tabulates
    # MLA keeps 512 + 64 values per layer: 70,272 bytes in BF16, the published figure
    assert kv_bytes_per_token(model("DeepSeek-V3"), "bf16") == 70_272


def test_weights_count_all_experts_for_memory():
    dense, experts = weight_bytes(model("DeepSeek-V3"), "fp8")
    assert dense + experts == pytest.approx(671e9)
    assert experts == pytest.approx(653.9e9)
    assert min_gpus(Setup(model("DeepSeek-V3"), gpu("H100 SXM"), "fp8")) == 10  # 671 GB over 72 GB each


def test_the_batch_that_fits():
    s = Setup(model("Llama-3.3-70B"), gpu("H200 SXM"), "fp8")
    free = 141e9 * 0.9 - 70.55e9
    assert kv_capacity_tokens(s) == pytest.approx(free / 163_840)
    c = calibration_for("H200 SXM")
    w = Workload(1000, 1000)
    assert max_batch(s, w, c) == min(c.max_batch, math.floor(free / 163_840 / 1500))


def test_a_model_that_does_not_fit_says_how_many_gpus_it_needs():
    s = Setup(model("Llama-3.1-405B"), gpu("H100 SXM"), "fp8", tp=2)
    with pytest.raises(UsageError, match=r"does not fit: the weights need at least 6 GPUs"):
        max_batch(s, Workload(128, 128), calibration_for("H100 SXM"))


def test_decode_is_bandwidth_bound_at_small_batches_and_compute_bound_past_the_ridge():
    s = Setup(model("Llama-3.3-70B"), gpu("H100 SXM"), "fp8", tp=2)
    c = calibration_for("H100 SXM")
    w = Workload(128, 128)
    assert decode_step(s, w, 1, c)[1] == "memory"
    assert decode_step(s, w, 2048, c)[1] == "compute"
    # below the ridge, doubling a small batch costs far less than double the time
    t1, t2 = decode_step(s, w, 4, c)[0], decode_step(s, w, 8, c)[0]
    assert t2 < 1.1 * t1


def test_moe_reads_only_the_experts_a_small_batch_touches():
    ds = model("DeepSeek-V3")
    c = replace(calibration_for("H200 SXM"), layer_overhead_us=0, token_overhead_us=0, expert_slowdown=1.0)
    s = Setup(ds, gpu("H200 SXM"), "fp8", ep=8)
    w = Workload(1000, 100)
    one, many = decode_step(s, w, 1, c)[0], decode_step(s, w, 4096, c)[0]
    dense_copy = 17.1e9  # each data-parallel rank holds the dense layers
    full_read = (dense_copy * 8 + 653.9e9) / (8 * 4.8e12 * c.bandwidth_efficiency)
    assert one < 0.5 * full_read  # one token touches 8 of 256 experts per layer
    assert many > full_read


def test_setup_checks():
    with pytest.raises(UsageError, match="dense: expert parallelism needs a mixture of experts"):
        Setup(model("Llama-3.3-70B"), gpu("H100 SXM"), "fp8", ep=2)
    with pytest.raises(UsageError, match="A100 SXM has no fp8 tensor cores"):
        Setup(model("Llama-3.3-70B"), gpu("A100 SXM"), "fp8")
    assert Setup(model("DeepSeek-V3"), gpu("H800 SXM"), "fp8", ep=144).gpus == 144
    assert Setup(model("Llama-3.1-405B"), gpu("H100 SXM"), "fp8", tp=8, pp=2).gpus == 16


def test_prefill_is_compute_bound_and_a_cache_hit_saves_it():
    s = Setup(model("Llama-3.1-8B"), gpu("H100 SXM"), "fp8")
    c = calibration_for("H100 SXM")
    cold, warm = prefill_time(s, Workload(2000, 100), c), prefill_time(s, Workload(2000, 100, 0.5), c)
    flops = 2 * 8.03e9 * 2000 + 2000 * 1000 * 32 * 2 * 32 * 256
    assert cold == pytest.approx(flops / (1978.9e12 * c.compute_efficiency))
    # half the prompt cached: half the linear work, and the new half attends to all of it
    warm_flops = 2 * 8.03e9 * 1000 + 1000 * 1500 * 32 * 2 * 32 * 256
    assert warm == pytest.approx(warm_flops / (1978.9e12 * c.compute_efficiency))


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["Llama-3.1-8B", "Llama-3.3-70B", "Qwen3-235B-A22B", "Mixtral-8x7B"]),
    isl=st.integers(16, 8000),
    osl=st.integers(1, 4000),
    a=st.integers(1, 600),
    b=st.integers(1, 600),
)
def test_bigger_batches_never_lower_latency_nor_throughput(name, isl, osl, a, b):
    """TPOT and tokens per second both grow with the batch: the SLO search relies on it."""
    m = model(name)
    s = Setup(m, gpu("H200 SXM"), "fp8", ep=8) if m.moe else Setup(m, gpu("H200 SXM"), "fp8", tp=2)
    c = calibration_for("H200 SXM")
    w = Workload(isl, osl)
    small, big = point(s, w, min(a, b), c), point(s, w, max(a, b), c)
    assert small.tpot_s <= big.tpot_s
    assert small.output_tps <= big.output_tps * (1 + 1e-12)
