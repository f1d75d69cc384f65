"""A roofline model of LLM serving: memory, prefill and decode time for one replica.

A replica is `tp x pp` GPUs for a dense model; for a mixture of experts (MoE) the experts
spread over `ep` GPUs and attention runs data-parallel over the rest (`max(tp, ep) x pp`
GPUs in all, as DeepSeek and TensorRT-LLM's attention-DP do).

- Memory: weights (all experts count) and a KV cache per token; the batch is what fits.
- Prefill is compute-bound: 2 FLOPs per active parameter per new token, plus attention.
- A decode step reads the weights once (for an MoE, only the experts the batch touches)
  and every sequence's KV cache, and computes 2 FLOPs per active parameter per sequence:
  bandwidth-bound below the ridge point, compute-bound above it.
- Tensor parallelism adds two all-reduces per layer, expert parallelism a dispatch and a
  combine per MoE layer, over NVLink inside a node and the network beyond it.
- Efficiency factors, an overhead per layer and step (kernel launches, synchronisation)
  and one per sequence and step come from a calibration.

Continuous batching interleaves prefills with decode steps, so a request costs its prefill
plus its share of `output_tokens` decode steps; time per output token (TPOT) includes
the prefills of the requests that join meanwhile. Physics here is float arithmetic:
estimates, never money.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from computeledger.capacity.catalog import BYTES, Calibration, Gpu, Model
from computeledger.errors import UsageError

MEMORY_FRACTION = 0.90  # of HBM usable for weights and KV cache (the rest: activations, runtime)
COLLECTIVE_LATENCY_S = 8e-6  # per all-reduce or all-to-all, whatever its size
#: Vector-unit operations to turn one MXFP4 weight into BF16 on a GPU without FP4 tensor
#: cores (unpack the nibble, map E2M1 to BF16, apply the block's E8M0 scale): a physical
#: estimate, not fitted (docs/capacity.md gives the error's sensitivity to it)
DEQUANT_OPS_PER_WEIGHT = 4


@dataclass(frozen=True)
class Setup:
    model: Model
    gpu: Gpu
    precision: str
    tp: int = 1
    pp: int = 1
    ep: int = 1

    def __post_init__(self) -> None:
        if self.precision not in BYTES:
            raise UsageError(f"precision {self.precision!r}: use one of {', '.join(BYTES)}")
        if min(self.tp, self.pp, self.ep) < 1:
            raise UsageError("tp, pp and ep are whole numbers of at least 1")
        if self.ep > 1 and not self.model.moe:
            raise UsageError(f"{self.model.model} is dense: expert parallelism needs a mixture of experts")
        if self.gpu.tflops(self.precision) is None:
            raise UsageError(f"{self.gpu.gpu} has no {self.precision} tensor cores (see the GPU catalogue)")
        if max(self.tp, self.ep) % min(self.tp, self.ep):
            raise UsageError(f"tp {self.tp} and ep {self.ep}: one must divide the other")

    @property
    def gpus(self) -> int:
        return max(self.tp, self.ep) * self.pp

    @property
    def kv_precision(self) -> str:
        return "bf16" if self.precision in ("bf16", "mxfp4") else "fp8"  # gpt-oss serves a BF16 cache

    def label(self) -> str:
        par = (
            f"TP{self.tp}"
            + (f" PP{self.pp}" if self.pp > 1 else "")
            + (f" EP{self.ep}" if self.ep > 1 else "")
        )
        return f"{self.model.model} on {self.gpus}x {self.gpu.gpu} {self.precision} {par}"


@dataclass(frozen=True)
class Workload:
    input_tokens: float
    output_tokens: float
    cache_hit: float = 0.0

    def __post_init__(self) -> None:
        if self.input_tokens < 0 or self.output_tokens < 1 or not 0 <= self.cache_hit < 1:
            raise UsageError("a request has at least 1 output token, and a cache hit rate in [0, 1)")

    @property
    def context(self) -> float:
        """The average context a decode step attends to."""
        return self.input_tokens + self.output_tokens / 2


def weight_bytes(m: Model, precision: str) -> tuple[float, float]:
    """(dense, routed experts) weight bytes."""
    b = BYTES[precision]
    return (m.params_b - m.expert_params_b) * 1e9 * b, m.expert_params_b * 1e9 * b


def kv_bytes_per_token(m: Model, precision: str) -> float:
    """KV cache per token over all layers; multi-head latent attention keeps one
    compressed vector (and a rotary key) per layer instead of keys and values per head."""
    return m.layers * _kv_bytes_per_layer(m, precision)


def _kv_bytes_per_layer(m: Model, precision: str) -> float:
    b = BYTES[precision]
    if m.kv_lora_rank:
        return (m.kv_lora_rank + m.rope_head_dim) * b
    return 2 * m.kv_heads * m.head_dim * b


def kv_bytes(m: Model, precision: str, context: float) -> float:
    """KV cache one sequence of `context` tokens holds (a sliding-window layer keeps its
    window only)."""
    return m.attended(context) * _kv_bytes_per_layer(m, precision)


def _attention_flops(m: Model, decode: bool) -> float:
    """FLOPs per (query, key) pair of one layer: scores and the weighted sum."""
    if m.kv_lora_rank and decode:  # absorbed MLA: attends in the compressed space
        return 2 * m.heads * (2 * m.kv_lora_rank + m.rope_head_dim)
    return 2 * m.heads * (2 * m.head_dim + m.rope_head_dim)


def _copies(s: Setup) -> tuple[int, int]:
    """How many copies of the dense weights and of the experts a replica holds: attention
    is data-parallel over the GPUs tensor parallelism leaves; the experts are held once."""
    return s.gpus // (s.tp * s.pp), 1


def kv_capacity_tokens(s: Setup) -> float:
    """Tokens of KV cache (of every layer) that fit beside the weights; negative when the
    weights do not fit."""
    return _kv_free_bytes(s) / kv_bytes_per_token(s.model, s.kv_precision)


def _kv_free_bytes(s: Setup) -> float:
    """Memory left for the KV cache once the weights are in."""
    dense, experts = weight_bytes(s.model, s.precision)
    dense_copies, expert_copies = _copies(s)
    return s.gpus * s.gpu.memory_gb * 1e9 * MEMORY_FRACTION - dense * dense_copies - experts * expert_copies


def min_gpus(s: Setup) -> int:
    """The fewest GPUs whose memory holds the weights (with no room to spare)."""
    dense, experts = weight_bytes(s.model, s.precision)
    return math.ceil((dense + experts) / (s.gpu.memory_gb * 1e9 * MEMORY_FRACTION))


def max_batch(s: Setup, w: Workload, c: Calibration) -> int:
    """Sequences that fit at once, at most the engine's limit. With a paged KV cache a
    sequence holds its input and, on average, half its output."""
    free = _kv_free_bytes(s)
    held = kv_bytes(s.model, s.kv_precision, w.input_tokens + w.output_tokens / 2)
    fits = int(free // held) if free > 0 else 0
    if fits < 1:
        raise UsageError(
            f"{s.label()}: does not fit: the weights need at least {min_gpus(s)} GPUs "
            f"and room for one {int(w.input_tokens + w.output_tokens)}-token sequence"
        )
    return min(fits, c.max_batch * s.gpus // (s.tp * s.pp) if s.ep > s.tp else c.max_batch)


def _link(s: Setup, group: int) -> float:
    """Bytes per second one way per GPU: NVLink inside a node, the network beyond it."""
    gbps = s.gpu.scaleup_gbps / 2 if group <= s.gpu.node_gpus else s.gpu.scaleout_gbps
    return gbps * 1e9


def comm_time(s: Setup, tokens: float, per_step: bool) -> float:
    """Communication of one step (or one prefill) over `tokens` tokens of the replica."""
    m, t = s.model, 0.0
    dense_copies, _ = _copies(s)
    if s.tp > 1:
        size = tokens / dense_copies * m.hidden * 2
        t += m.layers * 2 * (2 * (s.tp - 1) / s.tp) * size / _link(s, s.tp)
        t += m.layers * 2 * COLLECTIVE_LATENCY_S if per_step else 0.0
    if s.ep > 1:
        size = tokens / s.gpus * m.experts_per_token * m.hidden * 3  # fp8 dispatch, bf16 combine
        t += m.moe_layers * (s.ep - 1) / s.ep * size / _link(s, s.ep)
        t += m.moe_layers * 2 * COLLECTIVE_LATENCY_S if per_step else 0.0
    if s.pp > 1:
        t += (s.pp - 1) * tokens / dense_copies * m.hidden * 2 / _link(s, s.gpus)
    return t


def decode_step(s: Setup, w: Workload, batch: int, c: Calibration) -> tuple[float, str]:
    """Seconds of one decode step for `batch` sequences, and what bounds it.

    The dense layers with attention, and the routed experts of an MoE, are two rooflines
    run one after the other; the experts' is stretched by the calibration's slowdown (the
    busiest expert-parallel rank sets the pace, and small grouped GEMMs run below peak)."""
    m = s.model
    dense, experts = weight_bytes(m, s.precision)
    dense_copies, _ = _copies(s)
    bandwidth = s.gpus * s.gpu.memory_tbps * 1e12 * c.bandwidth_efficiency
    flop_rate = s.gpus * s.gpu.tflops(s.precision) * 1e12 * c.compute_efficiency
    expert_active = m.active_params_b - (m.params_b - m.expert_params_b) if m.moe else 0.0
    read = dense * dense_copies + batch * kv_bytes(m, s.kv_precision, w.context)
    flops = batch * (
        2 * (m.active_params_b - expert_active) * 1e9
        + m.attended(w.context) * _attention_flops(m, decode=True)
    )
    t_mem, t_comp = read / bandwidth, flops / flop_rate
    if m.moe:
        touched = 1 - (1 - m.experts_per_token / m.experts) ** batch
        e_mem = experts * touched / bandwidth * c.expert_slowdown
        e_comp = batch * 2 * expert_active * 1e9 / flop_rate * c.expert_slowdown
        t_mem, t_comp = t_mem + e_mem, t_comp + e_comp
        roofline = max(read / bandwidth, flops / flop_rate) + max(e_mem, e_comp)
    else:
        roofline = max(t_mem, t_comp)
    roofline += _dequantise(s, dense * dense_copies + (experts * touched if m.moe else 0.0))
    bound = "memory" if t_mem >= t_comp else "compute"
    overhead = m.layers * c.layer_overhead_us / 1e6 + batch / dense_copies * c.token_overhead_us / 1e6
    return roofline + comm_time(s, batch, per_step=True) + overhead, bound


def _dequantise(s: Setup, weight_bytes_read: float) -> float:
    """Seconds a step spends turning the MXFP4 weights it reads into BF16 on the vector
    units, where the tensor cores take no FP4 (Hopper, CDNA3): not overlapped with the
    reads (the weight-only kernels load, convert, then multiply each tile)."""
    if s.precision != "mxfp4" or s.gpu.tflops_fp4 or not s.gpu.tflops_fp32:
        return 0.0
    weights = weight_bytes_read / BYTES["mxfp4"]
    return weights * DEQUANT_OPS_PER_WEIGHT / (s.gpus * s.gpu.tflops_fp32 * 1e12)


def prefill_time(s: Setup, w: Workload, c: Calibration) -> float:
    """Seconds of the replica to prefill one request's uncached input tokens."""
    m = s.model
    new = w.input_tokens * (1 - w.cache_hit)
    # (query, key) pairs over the layers: each new token attends to the cached ones and the
    # new ones before it, a sliding-window layer to its window at most
    pairs = new * m.attended(w.input_tokens - new / 2)
    flops = 2 * m.active_params_b * 1e9 * new + pairs * _attention_flops(m, decode=False)
    return flops / (s.gpus * s.gpu.tflops(s.precision) * 1e12 * c.compute_efficiency) + comm_time(
        s, new, per_step=False
    )


@dataclass(frozen=True)
class Point:
    """One operating point of a replica."""

    setup: Setup
    workload: Workload
    batch: int
    step_s: float
    prefill_s: float
    bound: str
    disaggregated: bool = False

    @property
    def tpot_s(self) -> float:
        """Time per output token a user sees: the step, plus the prefills interleaved with
        it unless prefill runs on GPUs of its own (disaggregated serving)."""
        if self.disaggregated:
            return self.step_s
        return self.step_s + self.batch / self.workload.output_tokens * self.prefill_s

    @property
    def ttft_s(self) -> float:
        return self.prefill_s + self.step_s

    @property
    def request_s(self) -> float:
        """Replica-seconds one request takes: its prefill and its share of the decode steps."""
        return self.prefill_s + self.workload.output_tokens * self.step_s / self.batch

    @property
    def output_tps(self) -> float:
        """Output tokens per second of the replica."""
        return self.workload.output_tokens / self.request_s

    @property
    def output_tps_per_gpu(self) -> float:
        return self.output_tps / self.setup.gpus

    @property
    def input_tps(self) -> float:
        return self.workload.input_tokens / self.request_s

    @property
    def gpu_s_per_input_token(self) -> float:
        """GPU-seconds the prefill of one input token (cached ones averaged in) takes."""
        return (
            self.setup.gpus * self.prefill_s / self.workload.input_tokens
            if self.workload.input_tokens
            else 0.0
        )

    @property
    def gpu_s_per_output_token(self) -> float:
        return self.setup.gpus * self.step_s / self.batch


def point(s: Setup, w: Workload, batch: int, c: Calibration, disaggregated: bool = False) -> Point:
    """The replica at `batch`. Disaggregated, its GPU-time per request is unchanged
    (prefill is compute-bound, so GPU-seconds per input token hardly depend on the
    replica's size) but decode steps no longer wait for prefills."""
    step, bound = decode_step(s, w, batch, c)
    return Point(s, w, batch, step, prefill_time(s, w, c), bound, disaggregated)
