"""The speed harness (benchmarks/speed.py): fields and sane values, and that its
hand-written loop trains exactly what the engine trains. No timing thresholds."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "speed.py"


@pytest.fixture(scope="module")
def speed():
    spec = importlib.util.spec_from_file_location("selfsup_bench_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _registered(name: str) -> bool:
    from selfsup.registry import get_registry

    return name in {spec.name for spec in get_registry().list("objective")}


def test_harness_writes_table_and_json(speed, tmp_path):
    if not _registered("ts-simclr"):
        pytest.skip("the example plugin (ts-simclr) is not installed")
    out = tmp_path / "speed.json"
    report = speed.main(["--objectives", "ts-simclr,no-such-objective", "--steps", "2", "--warmup", "1",
                         "--repeats", "2", "--in-process", "--matmul-seconds", "0.1", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["environment"]["torch"] == torch.__version__
    assert saved["environment"]["torch_threads"] == 1
    assert set(saved["matmul_flops"]) == {"fp32", "bf16", "fp32_cpu_time", "bf16_cpu_time"}
    assert all(v > 0 for v in saved["matmul_flops"].values())
    row, unknown = saved["rows"]
    assert unknown["objective"] == "no-such-objective" and "Unknown objective" in unknown["skip"]
    assert "skip" not in row, row.get("traceback")
    assert row["modality"] == "example-series" and row["encoder"] == "conv1d" and row["batch_size"] == 128
    assert len(row["step_ms_repeats"]) == len(row["handwritten_ms_repeats"]) == 2
    assert row["step_ms_median"] > 0 and row["handwritten_ms_median"] > 0
    assert row["samples_per_s"] == pytest.approx(128 / (row["step_ms_median"] / 1e3))
    expected = [e / h - 1 for e, h in zip(row["step_ms_repeats"], row["handwritten_ms_repeats"])]
    assert row["overhead_repeats"] == pytest.approx(expected)
    assert min(expected) <= row["overhead"] <= max(expected)
    assert row["cpu_ms_median"] > 0 and row["handwritten_cpu_ms_median"] > 0
    assert len(row["overhead_cpu_repeats"]) == 2
    assert min(row["overhead_cpu_repeats"]) <= row["overhead_cpu"] <= max(row["overhead_cpu_repeats"])
    assert 0.0 <= row["data_share"] < 1.0
    assert row["peak_mib"] >= 0 and math.isfinite(row["peak_mib"])
    assert row["flops_per_step"] > 0 and row["mfu_wall"] > 0 and row["mfu"] == row["mfu_cpu_time"] > 0
    table = out.with_suffix(".md").read_text()
    assert table == speed.markdown_table(report)
    assert "| ts-simclr | example-series | conv1d | 128 |" in table and " / " in table
    assert "| no-such-objective |" in table and "skipped:" in table
    assert "torch " + torch.__version__ in table and "1 torch thread(s)" in table


def test_handwritten_loop_trains_exactly_what_the_engine_trains(speed):
    """A GAN: both phases, the discriminator's repeats, per-phase optimisers, on_step_end (EMA)."""
    if not _registered("augself-gan"):
        pytest.skip("the vision plugin is not installed")
    settings = speed.BenchSettings(steps=1, warmup=1)
    plan = speed.plan_for("augself-gan", settings)
    plan.overrides["encoder_config"] = {"channels": 16, "blocks": 2, "downsample_blocks": 2}
    plan.overrides["objective_config"].update(dim_z=8, g_channels=8, d_steps=2, ema_start=0)
    plan.overrides["trainer"]["batch_size"] = 8
    resolved, data, engine_objective = speed.build(plan)
    assert [(p.name, p.repeats) for p in engine_objective.phases()] == [("discriminator", 2), ("generator", 1)]
    before = {k: v.clone() for k, v in engine_objective.state_dict().items()}
    engine = speed.run_engine(resolved, data, engine_objective, settings)
    resolved, data, hand_objective = speed.build(plan)
    hand = speed.run_handwritten(resolved, data, hand_objective, settings)
    assert len(engine.step_s) == len(hand.step_s) == 1 and engine.rows == hand.rows == 8
    engine_state, hand_state = engine_objective.state_dict(), hand_objective.state_dict()
    changed = [k for k, v in engine_state.items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert changed, "training changed no weight"
    for key, value in engine_state.items():
        torch.testing.assert_close(hand_state[key], value, rtol=0, atol=0, msg=key)


def test_objective_whose_dataset_needs_missing_files_is_skipped_with_the_reason(speed, tmp_path):
    if not _registered("d-sla"):
        pytest.skip("d-sla is not registered")
    row = speed.bench_objective("d-sla", speed.BenchSettings(data_dir=str(tmp_path)))
    assert "needs files" in row["skip"] and str(tmp_path / "mutag") in row["skip"]
    assert "| d-sla | graph | – | – | skipped: dataset 'mutag' needs files" in speed.markdown_table(
        {"environment": speed.environment(speed.BenchSettings()), "rows": [row]}
    )
