"""Fleet sizing, and the closure test on DeepSeek's published day of serving."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from computeledger.capacity import catalog
from computeledger.capacity.fleet import fleet, read_demand
from computeledger.errors import UsageError
from computeledger.shipped import EXAMPLES

EXAMPLE = EXAMPLES / "deepseek_day.yaml"
PUBLISHED_NODES, PUBLISHED_PEAK, PUBLISHED_COST = 226.75, 278, Decimal("87072")


@pytest.fixture(scope="module")
def deepseek():
    return fleet(read_demand(EXAMPLE), catalog.calibrations(), catalog.prices())


def test_deepseek_day_closes_at_the_published_node_rates(deepseek):
    """608B tokens in and 168B out at 73.7k and 14.8k tokens/s per node: the fleet and its
    cost close on the published 226.75 nodes and $87,072 to within 0.1%."""
    row = deepseek[0]
    assert (row["choice"], row["point"], row["gpu"], row["usd_per_gpu_hour"]) == (
        "as given", "measured", "H800 SXM", Decimal("2.00"),
    )  # fmt: skip
    gpu_s = 608e9 / 9212.5 + 168e9 / 1850
    assert row["gpus_mean"] == round(gpu_s / 86400, 2)
    assert abs(row["nodes_mean"] / PUBLISHED_NODES - 1) < 0.001
    assert row["usd_per_day_mean"] == Decimal("87115.6095")
    assert abs(row["usd_per_day_mean"] / PUBLISHED_COST - 1) < Decimal("0.001")
    # provisioned for the 1.226 peak in whole EP144 replicas: 16 x 144 GPUs, 288 nodes >= 278
    assert row["gpus_provisioned"] == 2304 and row["gpus_provisioned"] / 8 >= PUBLISHED_PEAK


def test_deepseek_day_as_the_model_predicts_it(deepseek):
    """The physics alone (calibration borrowed from H100, no DeepSeek data fitted) needs
    28% more nodes than DeepSeek ran: the figure the closing note reports."""
    modelled = [r for r in deepseek if r["name"].endswith("as the model predicts it")]
    pinned = next(r for r in modelled if r["choice"] == "as given")
    assert pinned["point"] == "latency-bound" and pinned["calibration"] == "borrowed from H100 SXM fp8"
    assert pinned["nodes_mean"] == pytest.approx(291.03, abs=0.01)
    assert 0.75 < pinned["nodes_mean"] / PUBLISHED_NODES < 1.35
    cheapest = next(r for r in modelled if r["choice"] == "cheapest")
    assert cheapest["usd_per_day_mean"] <= pinned["usd_per_day_mean"]
    assert len(deepseek) == 3  # measured rates hold only where measured: no cheapest row for them


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "demand.yaml"
    path.write_text(text)
    return path


BASE = """
- model: Llama-3.3-70B
  input_tokens_per_day: 20B
  output_tokens_per_day: 4B
  input_per_request: 2000
  output_per_request: 400
  peak_to_mean: 2
  utilization: 0.5
  tpot_ms: 50
"""


def test_a_what_if_moves_a_model_to_another_gpu_and_cloud(tmp_path):
    demand = read_demand(write(tmp_path, BASE + "  gpu: H100 SXM\n  provider: Microsoft\n"))
    now, best = fleet(demand, catalog.calibrations(), catalog.prices())
    assert (now["choice"], now["gpu"], now["provider"]) == ("as given", "H100 SXM", "Microsoft")
    assert best["usd_per_month_provisioned"] <= now["usd_per_month_provisioned"]
    moved = fleet(demand, catalog.calibrations(), catalog.prices(), gpu="H200 SXM", provider="CoreWeave")[1]
    assert (moved["gpu"], moved["provider"], moved["usd_per_gpu_hour"]) == (
        "H200 SXM",
        "CoreWeave",
        Decimal("6.305"),
    )
    assert moved["usd_per_month_provisioned"] < now["usd_per_month_provisioned"]
    # provisioned = whole replicas covering peak / utilization
    gpus_mean, n = now["gpus_mean"], int(now["setup"].split("x ")[0].split()[-1])
    assert now["gpus_provisioned"] % n == 0 and now["gpus_provisioned"] >= gpus_mean * 2
    assert now["usd_per_month_provisioned"] == Decimal(now["gpus_provisioned"]) * 730 * Decimal("12.29")


def test_a_csv_demand_reads_like_yaml(tmp_path):
    path = tmp_path / "demand.csv"
    path.write_text(
        "model,input_tokens_per_day,output_tokens_per_day,input_per_request,output_per_request,gpu\n"
        "Llama-3.1-8B,1.5B,300M,1000,200,H100 SXM\n"
    )
    (d,) = read_demand(path)
    assert (d.input_tokens_per_day, d.output_tokens_per_day, d.gpu) == (
        Decimal("1.5E+9"),
        Decimal("3E+8"),
        "H100 SXM",
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("  colour: blue\n", "entry 1: unknown field 'colour'"),
        ("  cache_hit: lots\n", "entry 1, field cache_hit: not a float: 'lots'"),
        ("  utilization: 1.5\n", "entry 1: utilization is in (0, 1] and peak_to_mean at least 1"),
        ("  tp: -2\n", "entry 1, field tp: negative: -2"),
    ],
)
def test_a_bad_demand_entry_names_the_file_entry_and_field(tmp_path, extra, message):
    path = write(tmp_path, BASE + extra)
    with pytest.raises(UsageError) as e:
        read_demand(path)
    assert str(e.value).startswith(f"{path}, {message}")


def test_missing_fields_and_unpriced_gpus(tmp_path):
    with pytest.raises(UsageError, match="entry 1: missing output_tokens_per_day"):
        read_demand(
            write(
                tmp_path,
                "- model: Llama-3.1-8B\n  input_tokens_per_day: 1B\n"
                "  input_per_request: 1\n  output_per_request: 1\n",
            )
        )
    demand = read_demand(write(tmp_path, BASE + "  gpu: MI300X\n"))
    with pytest.raises(UsageError, match="no price for MI300X at any provider in the catalogue"):
        fleet(demand, catalog.calibrations(), catalog.prices())
