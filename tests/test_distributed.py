"""Data-parallel training on CPU with gloo and 2 processes under ``torchrun``.

One step on 2 ranks (global batch 32, 16 per rank) must equal one step of a single process
on the same global batch: for an InfoNCE objective whose negatives are gathered from every
rank, an EMA-target objective and a two-network (GAN-shaped) objective; with FSDP too for
the first two. A run checkpointed by 2 ranks (DDP or FSDP) resumes in 1 process and ends
where an uninterrupted single-process run ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).parent / "support" / "ddp_worker.py"
CASES = ("infonce", "ema-target", "two-player")
FSDP_CASES = ("infonce", "ema-target")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    return env


def _launch(*args: str, nproc: int | None) -> None:
    prefix = [sys.executable]
    if nproc:
        prefix += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    done = subprocess.run([*prefix, *args], env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    for folder in ("two", "one", "one-from-fsdp", "fsdp-from-one"):
        (out / folder).mkdir()
    run_dir, fsdp_run_dir = out / "run", out / "run-fsdp"
    cases = [f"{name}:1" for name in CASES]
    fsdp_cases = [f"{name}:1:strategy=fsdp" for name in FSDP_CASES]
    _launch(str(WORKER), str(out / "two"), ",".join([*cases, *fsdp_cases, f"ema-target:4:ckpt={run_dir}", f"ema-target:4:strategy=fsdp:ckpt={fsdp_run_dir}"]), nproc=2)
    for folder in (run_dir, fsdp_run_dir):
        (folder / "checkpoints" / "step-00000004.pt").unlink()  # as if killed after step 2's checkpoint
    single_run_dir = out / "run-single"
    _launch(str(WORKER), str(out / "one"), ",".join([*cases, "ema-target:4", f"ema-target:4:resume={run_dir}", f"ema-target:4:ckpt={single_run_dir}"]), nproc=None)
    _launch(str(WORKER), str(out / "one-from-fsdp"), f"ema-target:4:resume={fsdp_run_dir}", nproc=None)
    (single_run_dir / "checkpoints" / "step-00000004.pt").unlink()
    _launch(str(WORKER), str(out / "fsdp-from-one"), f"ema-target:4:strategy=fsdp:resume={single_run_dir}", nproc=2)
    return out, run_dir


def _load(path: Path) -> dict:
    return torch.load(path, weights_only=True)


@pytest.mark.parametrize("name", CASES)
def test_two_ranks_take_the_single_process_step(results, name):
    out, _ = results
    single = _load(out / "one" / f"{name}-1-rank0.pt")
    ranks = [_load(out / "two" / f"{name}-1-rank{r}.pt") for r in (0, 1)]
    for rank in ranks:
        assert rank["grads"].keys() == single["grads"].keys() and single["grads"]
        for key, grad in single["grads"].items():
            torch.testing.assert_close(rank["grads"][key], grad, rtol=1e-5, atol=1e-6, msg=f"{name}: gradient of {key}")
        for key, value in single["state"].items():
            torch.testing.assert_close(rank["state"][key], value, rtol=1e-5, atol=1e-6, msg=f"{name}: {key} after the step")


@pytest.mark.parametrize("name", FSDP_CASES)
def test_fsdp_shards_take_the_single_process_step(results, name):
    out, _ = results
    single = _load(out / "one" / f"{name}-1-rank0.pt")
    for rank in (0, 1):
        sharded = _load(out / "two" / f"{name}-1-fsdp-rank{rank}.pt")
        for key, grad in single["grads"].items():
            torch.testing.assert_close(sharded["grads"][key], grad, rtol=1e-5, atol=1e-6, msg=f"{name}: gradient of {key}")
        for key, value in single["state"].items():
            torch.testing.assert_close(sharded["state"][key], value, rtol=1e-5, atol=1e-6, msg=f"{name}: {key} after the step")


def test_fsdp_checkpoint_resumes_in_one_process(results):
    out, _ = results
    uninterrupted = _load(out / "one" / "ema-target-4-rank0.pt")["state"]
    resumed = _load(out / "one-from-fsdp" / "ema-target-4-resumed-rank0.pt")["state"]
    for key, value in uninterrupted.items():
        torch.testing.assert_close(resumed[key], value, rtol=1e-5, atol=1e-6, msg=key)


def test_single_process_checkpoint_resumes_sharded(results):
    out, _ = results
    uninterrupted = _load(out / "one" / "ema-target-4-rank0.pt")["state"]
    for rank in (0, 1):
        resumed = _load(out / "fsdp-from-one" / f"ema-target-4-resumed-fsdp-rank{rank}.pt")["state"]
        for key, value in uninterrupted.items():
            torch.testing.assert_close(resumed[key], value, rtol=1e-5, atol=1e-6, msg=key)


def test_gathered_negatives_matter(results):
    """Without the gather each rank would see 16 negatives: the loss would differ from 32's."""
    out, _ = results
    single = _load(out / "one" / "infonce-1-rank0.pt")["loss"][0]
    per_rank = [_load(out / "two" / f"infonce-1-rank{r}.pt")["loss"][0] for r in (0, 1)]
    assert sum(per_rank) / 2 == pytest.approx(single, rel=1e-5)


def test_rank_zero_alone_writes_the_log(results):
    _, run_dir = results
    lines = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3, 4]


def test_checkpoint_of_two_ranks_resumes_in_one_process(results):
    out, _ = results
    uninterrupted = _load(out / "one" / "ema-target-4-rank0.pt")["state"]
    resumed = _load(out / "one" / "ema-target-4-resumed-rank0.pt")["state"]
    for key, value in uninterrupted.items():
        torch.testing.assert_close(resumed[key], value, rtol=1e-5, atol=1e-6, msg=key)


def test_global_batch_must_split_over_ranks(monkeypatch):
    from selfsup.config import TrainerConfig
    from selfsup.engine.trainer import Trainer
    from selfsup.errors import ConfigError

    monkeypatch.setenv("WORLD_SIZE", "3")
    trainer = Trainer(TrainerConfig(max_steps=1, batch_size=32), seed=0)
    with pytest.raises(ConfigError, match=r"trainer.batch_size=32 \(the global batch\) does not split evenly over 3 processes.*trainer.batch_size=30"):
        trainer._check_batch_split(32)


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_torchrun_pretrain_writes_one_run(tmp_path, strategy):
    """``torchrun -m selfsup pretrain`` end to end: one run folder, one log, rank 0 reports."""
    env = _env()
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "selfsup",
               "pretrain", "modality=example-series", f"run_dir={tmp_path / 'r'}", "trainer.max_steps=4",
               "trainer.batch_size=64", "evaluators=[knn]", "trainer.progress=off", f"trainer.strategy={strategy}"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("knn/accuracy") == 1  # one table, from rank 0
    assert [json.loads(line)["step"] for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()] == [1, 2, 3, 4]
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["evaluations"]["knn"]["pretrained"]["accuracy"] > 0
    # The saved encoder is the trained one (unsharded under FSDP), not the random init.
    from selfsup import load_encoder

    trained = load_encoder(tmp_path / "r").state_dict()
    checkpoint = torch.load(tmp_path / "r" / "checkpoints" / "step-00000004.pt", weights_only=False)["objective"]
    for key, value in trained.items():
        torch.testing.assert_close(value, checkpoint[f"encoder.{key}"])


def test_sync_batchnorm_on_cpu_is_a_config_error(toy, monkeypatch):
    import selfsup_toy

    from selfsup.config import TrainerConfig
    from selfsup.engine.trainer import Trainer
    from selfsup.errors import ConfigError

    monkeypatch.setenv("WORLD_SIZE", "2")
    data = selfsup_toy.Blobs(selfsup_toy.BlobsConfig())
    objective = selfsup_toy.Denoise(selfsup_toy.DenoiseConfig(), selfsup_toy.MLPEncoder(selfsup_toy.MLPConfig(), data.info), data.info)
    trainer = Trainer(TrainerConfig(max_steps=1, batch_size=32, device="cpu", sync_batchnorm=True), seed=0)
    with pytest.raises(ConfigError, match="trainer.sync_batchnorm=true on the CPU: torch's SyncBatchNorm runs only on CUDA"):
        trainer.fit(objective, data)
