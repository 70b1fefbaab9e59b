"""The training loop: schedules, accumulation, phases, checkpoints, exact resume, NaN."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from selfsup.config import TrainerConfig
from selfsup.engine.checkpoint import atomic_save, latest_checkpoint
from selfsup.engine.optim import LARS, build_optimizer, kernel_choices, lr_factor, restore_kernel_choices
from selfsup.engine.sampler import EpochBatchSampler
from selfsup.engine.trainer import Trainer
from selfsup.errors import CheckpointError, NonFiniteLossError

SUPPORT = Path(__file__).parent / "support"


def _toy(objective="denoise", **objective_kwargs):
    import selfsup_toy

    data = selfsup_toy.Blobs(selfsup_toy.BlobsConfig())
    torch.manual_seed(0)
    encoder = selfsup_toy.MLPEncoder(selfsup_toy.MLPConfig(), data.info)
    cls = {"denoise": selfsup_toy.Denoise, "two-player": selfsup_toy.TwoPlayer}[objective]
    return data, cls(selfsup_toy.DenoiseConfig(**objective_kwargs), encoder, data.info)


def test_warmup_then_cosine():
    kw = dict(total_steps=110, warmup_steps=10, schedule="cosine", min_ratio=0.1)
    assert lr_factor(0, **kw) == pytest.approx(0.1)
    assert lr_factor(9, **kw) == pytest.approx(1.0)
    assert lr_factor(60, **kw) == pytest.approx(0.1 + 0.9 * 0.5)
    assert lr_factor(110, **kw) == pytest.approx(0.1)
    assert lr_factor(50, total_steps=110, warmup_steps=10, schedule="constant", min_ratio=0.0) == 1.0


def test_staircase_warmup_is_ssasts():
    """SSAST's traintest_mask.py: lr = global_step / 1000 * lr whenever global_step % 50 == 0."""
    kw = dict(total_steps=5000, warmup_steps=1000, schedule="constant", min_ratio=0.0, warmup_every=50)
    official = []
    lr = 0.0
    for global_step in range(1100):
        if global_step <= 1000 and global_step % 50 == 0:
            lr = global_step / 1000
        official.append(lr)
    assert [lr_factor(step, **kw) for step in range(1100)] == pytest.approx(official)
    assert lr_factor(49, **kw) == 0.0 and lr_factor(50, **kw) == pytest.approx(0.05)


def test_cpu_optimisers_use_fused_kernels_and_resuming_keeps_them():
    settings = {**TrainerConfig().__dict__, "optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.01}
    model = torch.nn.Linear(4, 3)
    optimizer = build_optimizer(list(model.parameters()), settings, device=torch.device("cpu"))
    assert [group["fused"] for group in optimizer.param_groups] == [True, True]
    model(torch.randn(5, 4)).sum().backward()
    optimizer.step()
    saved = optimizer.state_dict()
    for group in saved["param_groups"]:  # as written by a run that could not fuse (e.g. FSDP on the CPU)
        group.update(fused=None, foreach=True)
    chosen = kernel_choices(optimizer)
    optimizer.load_state_dict(saved)
    assert [group["fused"] for group in optimizer.param_groups] == [None, None], "load_state_dict copies them"
    restore_kernel_choices(optimizer, chosen)
    assert [(group["fused"], group["foreach"]) for group in optimizer.param_groups] == [(True, None), (True, None)]
    assert optimizer.state[model.weight]["step"] == 1  # the state itself came from the checkpoint


def test_sampler_resumes_mid_epoch():
    full = EpochBatchSampler(10, 3, seed=1, drop_last=True)
    it = iter(full)
    order = [next(it) for _ in range(7)]
    resumed = EpochBatchSampler(10, 3, seed=1, drop_last=True)
    it = iter(resumed)
    [next(it) for _ in range(4)]
    state = resumed.state_dict()
    again = EpochBatchSampler(10, 3, seed=1, drop_last=True)
    again.load_state_dict(state)
    it = iter(again)
    assert [next(it) for _ in range(3)] == order[4:]


def test_gradient_accumulation_matches_one_large_batch():
    data, objective = _toy(noise=0.0)
    batch = data.split("train").__getitems__(list(range(32)))
    halves = [{k: v[:16] for k, v in batch.items()}, {k: v[16:] for k, v in batch.items()}]
    grads = []
    for micro in ([batch], halves):
        trainer = Trainer(TrainerConfig(max_steps=1, lr=0.0))
        state = trainer._build_phases(objective, 1)[0]
        trainer._phase_update(objective.training_step, state, micro, 1)
        grads.append([p.grad.clone() for p in objective.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_two_phases_have_their_own_optimisers_and_repeats(tmp_path):
    data, objective = _toy("two-player")
    trainer = Trainer(TrainerConfig(max_steps=4, batch_size=16, log_every=2), run_dir=tmp_path)
    history = trainer.fit(objective, data)
    assert {"loss/critic", "loss/encoder", "lr/critic", "lr/encoder", "grad_norm/critic"} <= set(history[-1])
    state = torch.load(latest_checkpoint(tmp_path / "checkpoints"), weights_only=False)
    assert set(state["phases"]) == {"critic", "encoder"}
    critic_state = state["phases"]["critic"]["optimizer"]["state"]
    assert int(critic_state[0]["step"]) == 8  # 2 repeats x 4 steps
    assert state["phases"]["critic"]["optimizer"]["param_groups"][0]["betas"] == (0.0, 0.9)


def test_log_has_one_line_per_step(tmp_path):
    data, objective = _toy()
    Trainer(TrainerConfig(max_steps=7, batch_size=16, log_every=3), run_dir=tmp_path).fit(objective, data)
    lines = [json.loads(l) for l in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines] == list(range(1, 8))
    assert {"loss", "lr", "grad_norm", "samples_per_s"} <= set(lines[0])


def test_nan_loss_names_step_and_last_checkpoint(tmp_path):
    data, objective = _toy(nan_at_step=6)
    trainer = Trainer(TrainerConfig(max_steps=10, batch_size=16, checkpoint_every=4, log_every=1), run_dir=tmp_path)
    with pytest.raises(NonFiniteLossError) as info:
        trainer.fit(objective, data)
    assert info.value.step == 6
    assert info.value.checkpoint.endswith("step-00000004.pt")
    assert "at step 6" in str(info.value) and "trainer.resume=true" in str(info.value)


def test_resume_without_checkpoint_is_an_error(tmp_path):
    data, objective = _toy()
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        Trainer(TrainerConfig(max_steps=2, resume=True), run_dir=tmp_path).fit(objective, data)


def test_atomic_save_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "x.pt"
    atomic_save({"a": 1}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError):
        atomic_save({"a": Unpicklable()}, path)
    assert torch.load(path) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.pt"]


def test_bf16_autocast_runs_on_cpu(tmp_path):
    data, objective = _toy()
    history = Trainer(TrainerConfig(max_steps=3, batch_size=16, precision="bf16")).fit(objective, data)
    assert len(history) == 3 and all(h["loss"] == h["loss"] for h in history)


def test_lars_adapts_the_step_to_the_weight_norm():
    w = torch.nn.Parameter(torch.ones(2, 2))
    opt = LARS([w], lr=1.0, momentum=0.0, trust_coefficient=0.1)
    w.grad = torch.full((2, 2), 10.0)
    opt.step()
    # ‖w‖ = 2, ‖g‖ = 20: the step is lr · 0.1 · 2/20 · g = 0.01 · 10 = 0.1
    torch.testing.assert_close(w.detach(), torch.full((2, 2), 0.9))


_SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    import selfsup_toy
    from selfsup import pretrain
    run_dir, kill_at, resume = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
    os.environ["SELFSUP_TOY_KILL_AT_STEP"] = str(kill_at)  # not in the config: a resume may not change that
    pretrain(modality="toy", run_dir=run_dir, evaluators=[], plugins=[selfsup_toy],
             trainer={"max_steps": 24, "checkpoint_every": 5, "batch_size": 32, "resume": resume, "log_every": 1})
    """
)


def _run(script: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SUPPORT), "SELFSUP_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True)


def test_sigkilled_run_resumes_bit_identically(tmp_path):
    from safetensors.torch import load_file

    script = tmp_path / "run.py"
    script.write_text(_SCRIPT)
    straight = _run(script, str(tmp_path / "straight"), "0", "0")
    assert straight.returncode == 0, straight.stderr
    killed = _run(script, str(tmp_path / "killed"), "13", "0")
    assert killed.returncode == -9  # SIGKILL inside step 13, after the step-10 checkpoint
    assert latest_checkpoint(tmp_path / "killed" / "checkpoints").name == "step-00000010.pt"
    resumed = _run(script, str(tmp_path / "killed"), "0", "1")
    assert resumed.returncode == 0, resumed.stderr
    a = load_file(str(tmp_path / "straight" / "encoder.safetensors"))
    b = load_file(str(tmp_path / "killed" / "encoder.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    steps = [json.loads(l)["step"] for l in (tmp_path / "killed" / "log.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 25))


class _OneGraph(torch.utils.data.Dataset):
    """A full-batch source's single item: every row of one 'graph'."""

    def __init__(self) -> None:
        g = torch.Generator().manual_seed(0)
        self.item = {"x": torch.randn(40, 8, generator=g), "label": torch.randint(0, 3, (40,), generator=g)}

    def __len__(self) -> int:
        return 1

    def __getitem__(self, i: int) -> dict:
        return self.item


def test_full_batch_source_uses_the_whole_item_every_step(tmp_path):
    import selfsup_toy
    from selfsup.interfaces import DataSource

    class FullBatch(DataSource):
        splits = ("train",)
        full_batch = True
        info = {"num_features": 8}

        def __init__(self) -> None:
            self.dataset = _OneGraph()

        def split(self, name):
            return self.dataset

        def collate(self, items):
            return items[0]

    data = FullBatch()
    encoder = selfsup_toy.MLPEncoder(selfsup_toy.MLPConfig(), data.info)
    objective = selfsup_toy.Denoise(selfsup_toy.DenoiseConfig(), encoder, data.info)
    history = Trainer(TrainerConfig(max_epochs=5, batch_size=16, log_every=1)).fit(objective, data)
    assert len(history) == 5  # one step per epoch
    assert all(line["samples_per_s"] > 0 for line in history)
    assert history[-1]["loss"] < history[0]["loss"]


def test_move_to_device_keeps_container_types_and_named_tuples():
    """The one ``move_to_device`` (engine and evaluators): dicts, lists, tuples and named tuples."""
    from collections import namedtuple

    from selfsup.engine.device import move_to_device

    Pair = namedtuple("Pair", ["a", "b"])
    batch = {"x": torch.ones(2, 3, 4, 5), "pair": Pair(torch.zeros(1), [torch.ones(1), 7]), "name": "row"}
    moved = move_to_device(batch, torch.device("meta"), channels_last=True)
    assert isinstance(moved["pair"], Pair) and moved["pair"].a.device.type == "meta"
    assert moved["pair"].b[0].device.type == "meta" and moved["pair"].b[1] == 7 and moved["name"] == "row"
    assert moved["x"].is_contiguous(memory_format=torch.channels_last)


def test_ema_update_averages_or_copies_buffers():
    from selfsup.engine.ema import ema_update

    online, target = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        online.weight.fill_(2.0)
        online.running_mean.fill_(4.0)
    ema_update(target, online, 0.75)
    torch.testing.assert_close(target.weight, torch.full((3,), 1.25))  # 0.75·1 + 0.25·2
    torch.testing.assert_close(target.running_mean, torch.full((3,), 1.0))  # averaged
    ema_update(target, online, 0.75, buffers="copy")
    torch.testing.assert_close(target.running_mean, torch.full((3,), 4.0))  # copied
    with pytest.raises(ValueError, match="buffers"):
        ema_update(target, online, 0.5, buffers="keep")


def test_a_phase_computes_no_gradient_for_the_other_phases_parameters(monkeypatch):
    """As the official GAN code toggles ``requires_grad``: the critic step leaves the encoder without
    gradients and the encoder step the critic; the weights end bit-identical to the same run
    without the freezing (the freezing only skips work)."""
    import contextlib

    import selfsup.engine.trainer as trainer_module

    after: dict[str, tuple[bool, bool]] = {}
    update = Trainer._phase_update

    def watched(self, step_fn, state, micro_batches, step):
        out = update(self, step_fn, state, micro_batches, step)
        objective = step_fn.__self__
        after[state.phase.name] = (
            all(p.grad is None for p in objective.encoder.parameters()),
            all(p.grad is None for p in objective.critic.parameters()),
        )
        return out

    def run(freeze: bool) -> list[torch.Tensor]:
        data, objective = _toy("two-player")
        if not freeze:
            monkeypatch.setattr(trainer_module, "frozen", lambda parameters: contextlib.nullcontext())
        Trainer(TrainerConfig(max_steps=4, batch_size=16, log_every=100), seed=0).fit(objective, data)
        monkeypatch.undo()
        assert all(p.requires_grad for p in objective.parameters())  # restored after every phase
        return [p.detach().clone() for p in objective.parameters()]

    monkeypatch.setattr(Trainer, "_phase_update", watched)
    frozen = run(freeze=True)
    assert after == {"critic": (True, False), "encoder": (False, True)}
    reference = run(freeze=False)
    assert all(torch.equal(a, b) for a, b in zip(frozen, reference))
