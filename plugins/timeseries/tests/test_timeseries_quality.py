"""Quality on real data (UCR ItalyPowerDemand, 67 train / 1,029 test series, 2 classes): each
objective's encoder, pretrained through ``selfsup.pretrain``, beats its random-init twin (same seed,
same architecture) on a downstream probe of the frozen encoder by a margin above the 3-seed spread.

* ``frame-projections``, the benchmark's CPU-sized configuration (200 steps, 150 of them stage 1,
  CWT U-Net width 16), linear probe. Seeds 0/1/2 (``benchmarks/results/timeseries-frame-projections-
  italypowerdemand.json``, the same configuration; seed 0 re-measured here on 2026-12-07: 0.9359 vs
  0.8882, identical): pretrained 0.936/0.955/0.940 vs random init 0.888/0.925/0.907, paired gains
  +0.048/+0.030/+0.033 (mean 0.037, sample sd 0.0095; the random init's own sd is 0.018). On this
  session's machine (2026-12-08, another CPU, so training's float results differ; seed 0 was 0.9155
  there at the session's first commit too): pretrained 0.916/0.938/0.935 vs random init
  0.888/0.925/0.907, gains +0.027/+0.013/+0.028 (mean 0.023, sd 0.0084). Seed 0 alone is not a
  robust claim across machines, so all three seeds are asserted: every gain above 0 and the mean
  gain above 0.015 (the paired gains' mean is 2.7 of their sds above it). About 25 CPU-seconds a seed. Cheaper settings fail: 120 steps (90 stage 1) gave
  +0.033 on seed 0 but -0.092 on seed 1 (0.833 vs 0.925); 2 blocks, width 16, 100 steps gave
  0.827 vs 0.863 on seed 0.
* ``series-simclr``, 100 steps, batch 64, the k-NN probe (k 20, the default). Seeds 0/1/2, measured
  2026-12-07 with this exact configuration: pretrained 0.921/0.932/0.902 vs random init
  0.870/0.879/0.872, paired gains +0.052/+0.053/+0.030 (mean 0.045, sample sd 0.013, range 0.023).
  Asserted: gain > 0.025 (below the smallest gain, above the sd and the range) and pretrained > 0.89
  (above every random init). About 6 CPU-seconds. Its linear probe is not asserted: gains
  +0.038/+0.001/+0.015, within the seed-to-seed spread (the 150-step benchmark's too: +0.036/+0.001/+0.021).

The 3-dataset comparison with the SimCLR-style baseline is in benchmarks/timeseries.md.
"""

from __future__ import annotations

import pytest
import selfsup


@pytest.mark.slow
def test_frame_projections_beat_random_init_on_italy_power_demand(tmp_path, ucr_root):
    gains = []
    for seed in (0, 1, 2):
        result = selfsup.pretrain(
            modality="timeseries", dataset="ucr", data={"root": str(ucr_root), "name": "ItalyPowerDemand"},
            evaluators=["linear-probe"], run_dir=tmp_path / f"run-{seed}", seed=seed,
            objective_config={"pretrain_steps": 150, "cwt_filters": 16},
            trainer={"max_steps": 200, "batch_size": 64, "progress": "off", "threads": 1},
        )
        gains.append(result.metrics["linear-probe/accuracy"] - result.random_init_metrics["linear-probe/accuracy"])
    assert min(gains) > 0, gains
    assert sum(gains) / 3 > 0.015, gains


@pytest.mark.slow
def test_series_simclr_beats_random_init_on_italy_power_demand_knn(tmp_path, ucr_root):
    result = selfsup.pretrain(
        modality="timeseries", objective="series-simclr", dataset="ucr",
        data={"root": str(ucr_root), "name": "ItalyPowerDemand"},
        evaluators=["knn"], run_dir=tmp_path / "run", seed=0,
        trainer={"max_steps": 100, "batch_size": 64, "progress": "off", "threads": 1},
    )
    pretrained = result.metrics["knn/accuracy"]
    random_init = result.random_init_metrics["knn/accuracy"]
    assert pretrained > 0.89, pretrained
    assert pretrained > random_init + 0.025, (pretrained, random_init)
