"""The catalogues: shipped rows with sources, user rows that extend them, errors that point."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from computeledger.capacity import catalog
from computeledger.errors import UsageError


def test_shipped_catalogues_have_a_source_on_every_row():
    for rows in (
        catalog.gpus().values(),
        catalog.models().values(),
        catalog.prices(),
        catalog.calibrations().values(),
    ):
        assert rows
        assert all(r.source.strip() for r in rows)
    assert len(catalog.gpus()) == 13 and len(catalog.models()) == 21


def test_gpu_and_model_figures_as_published():
    h100, h200 = catalog.gpus()["h100 sxm"], catalog.gpus()["h200 sxm"]
    assert (h100.memory_gb, h100.memory_tbps, h100.tflops_fp8, h100.tflops_fp4) == (80, 3.35, 1978.9, None)
    assert (h200.memory_gb, h200.memory_tbps) == (141, 4.8) and h200.tflops_fp8 == h100.tflops_fp8
    ds = catalog.models()["deepseek-v3"]
    assert (ds.params_b, ds.active_params_b, ds.experts, ds.experts_per_token, ds.kv_lora_rank) == (
        671,
        37,
        256,
        8,
        512,
    )


def test_prices_keep_their_date_and_the_newest_is_used():
    rows = catalog.prices()
    aws = [p for p in rows if p.provider == "AWS" and p.gpu == "H100 SXM"]
    assert sorted((p.as_of, p.usd_per_gpu_hour) for p in aws) == [
        (date(2024, 1, 1), Decimal("12.29")), (date(2025, 6, 1), Decimal("6.88"))
    ]  # fmt: skip
    latest = {(p.provider, p.pricing): p.usd_per_gpu_hour for p in catalog.latest_prices(rows, "H100 SXM")}
    assert latest[("AWS", "on-demand")] == Decimal("6.88")
    before_cut = catalog.latest_prices(rows, "H100 SXM", on=date(2025, 1, 1))
    assert {(p.provider, p.usd_per_gpu_hour) for p in before_cut if p.provider == "AWS"} == {
        ("AWS", Decimal("12.29"))
    }
    assert catalog.latest_prices(rows, "H100 SXM")[0].usd_per_gpu_hour == Decimal("2.99")


def test_a_user_catalogue_extends_and_overrides(tmp_path):
    extra = tmp_path / "prices.csv"
    extra.write_text(
        "provider,gpu,pricing,usd_per_gpu_hour,as_of,source\n"
        "Nebius,H200 SXM,reserved,2.30,2025-09-01,contract PDF p.3\n"
        "Oracle,H200 SXM,on-demand,9.00,2025-01-01,renegotiated\n"
    )
    rows = catalog.prices(extra)
    h200 = {(p.provider, p.pricing): p.usd_per_gpu_hour for p in catalog.latest_prices(rows, "H200 SXM")}
    assert h200[("Nebius", "reserved")] == Decimal("2.30")
    assert h200[("Oracle", "on-demand")] == Decimal("9.00")  # same key: replaces the shipped row


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("X1,80,fast,100,,,900,50,8,src", "line 2, column memory_tbps: not a float: 'fast'"),
        ("X1,80,3,100,,,900,-50,8,src", "line 2, column scaleout_gbps: negative: '-50'"),
        ("X1,80,3,100,,,900,50,8,", "line 2, column source: missing"),
        ("X1,0,3,100,,,900,50,8,src", "line 2: memory, bandwidth and bf16 FLOP/s must be positive"),
    ],
)
def test_a_bad_catalogue_cell_names_file_line_and_column(tmp_path, row, message):
    path = tmp_path / "gpus.csv"
    path.write_text(
        "gpu,memory_gb,memory_tbps,tflops_bf16,tflops_fp8,tflops_fp4,scaleup_gbps,scaleout_gbps,node_gpus,source\n"
        + row
        + "\n"
    )
    with pytest.raises(UsageError) as e:
        catalog.gpus(path)
    assert str(e.value) == f"{path}, {message}"


def test_bad_prices_and_unknown_names():
    with pytest.raises(
        UsageError, match="unknown gpu 'H900'; the catalogue has: A100 SXM, B200, B300, GB200"
    ):
        catalog.find(catalog.gpus(), "H900", "gpu")
    assert catalog.find(catalog.models(), "llama-3.3-70b", "model").model == "Llama-3.3-70B"


def test_a_price_with_an_unknown_pricing_model_is_refused(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("provider,gpu,pricing,usd_per_gpu_hour,as_of,source\nX,H100 SXM,hourly,2,2025-01-01,s\n")
    with pytest.raises(UsageError, match=r"line 2, column pricing: 'hourly': use one of on-demand, reserved"):
        catalog.prices(path)


def test_calibration_is_borrowed_and_says_from_where():
    table = catalog.calibrations()
    assert catalog.calibration_for(table, "H100 SXM", "fp8")[1] == "fitted"
    c, note = catalog.calibration_for(table, "H800 SXM", "fp8")
    assert (c.gpu, note) == ("H100 SXM", "borrowed from H100 SXM fp8")
    c, note = catalog.calibration_for(table, "B200", "fp8")
    assert (c.gpu, c.precision, note) == ("B200", "fp4", "borrowed from B200 fp4")
    c, note = catalog.calibration_for(table, "MI300X", "fp8")
    assert note.endswith("(median calibration)")


def test_the_newer_columns_are_optional_and_checked(tmp_path):
    """A user's models or GPUs file written before sliding windows and vector FLOP/s still
    reads (no window, no dequantisation figure); a window without its layers is refused."""
    header = (
        "model,params_b,active_params_b,expert_params_b,experts,experts_per_token,moe_layers,layers,hidden,"
        "heads,kv_heads,head_dim,kv_lora_rank,rope_head_dim,vocab,source"
    )
    path = tmp_path / "models.csv"
    path.write_text(f"{header}\nMine-7B,7,7,0,0,0,0,32,4096,32,8,128,0,0,32000,my card\n")
    mine = catalog.find(catalog.models(path), "Mine-7B", "model")
    assert (mine.sliding_window, mine.sliding_layers, mine.attended(1000)) == (0, 0, 32_000)
    path.write_text(
        f"{header},sliding_window,sliding_layers\nMine-7B,7,7,0,0,0,0,32,4096,32,8,128,0,0,32000,c,0,4\n"
    )
    with pytest.raises(UsageError, match="line 2, column sliding_layers: give both a window and its layers"):
        catalog.models(path)
