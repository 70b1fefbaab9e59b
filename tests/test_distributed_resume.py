"""Exact resume under ``torchrun``: a 2-rank run resumed under 2 ranks from a mid-run
checkpoint ends bit-identical to the uninterrupted 2-rank run.

The toy denoising objective draws its noise from each rank's global RNG, so this holds only
if every rank's RNG state is in the checkpoint (rank 0 alone writes it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).parent / "support" / "ddp_worker.py"


def _launch(out: Path, case: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER), str(out), case]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_two_rank_run_resumed_under_two_ranks_is_bit_identical(tmp_path):
    run_dir = tmp_path / "run"
    _launch(tmp_path, f"denoise:6:ckpt={run_dir}")  # checkpoints at steps 2, 4, 6
    for step in (4, 6):  # as if killed after step 2's checkpoint
        (run_dir / "checkpoints" / f"step-{step:08d}.pt").unlink()
    _launch(tmp_path, f"denoise:6:resume={run_dir}")
    for rank in (0, 1):
        straight = torch.load(tmp_path / f"denoise-6-rank{rank}.pt", weights_only=True)
        resumed = torch.load(tmp_path / f"denoise-6-resumed-rank{rank}.pt", weights_only=True)
        assert straight["state"].keys() == resumed["state"].keys()
        for key, value in straight["state"].items():
            assert torch.equal(resumed["state"][key], value), f"rank {rank}: {key}"
        assert resumed["loss"][-4:] == straight["loss"][-4:]  # rank 0 logs; the others' history is empty


_CLI = """
import sys
import selfsup_toy
from selfsup.plugins import get_plugins
get_plugins().register(selfsup_toy, name="toy")
from selfsup.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_sigterm_under_torchrun_stops_both_ranks_after_one_step_and_resumes_exactly(tmp_path):
    """SIGTERM to torchrun's process group (a scheduler's preemption): both ranks stop after the
    same step, rank 0 checkpoints it, and the printed torchrun command resumes bit-identically."""
    import signal
    import time

    from safetensors.torch import load_file

    script = tmp_path / "selfsup_cli.py"
    script.write_text(_CLI)
    args = ["pretrain", "modality=toy", "evaluators=[]", "trainer.max_steps=10", "trainer.batch_size=32", "trainer.progress=off"]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(WORKER.parent), SELFSUP_DISABLE_PLUGIN_AUTOLOAD="1")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script)]
    straight = subprocess.run([*torchrun, *args, f"run_dir={tmp_path / 'straight'}"], env=env, capture_output=True, text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr[-3000:]

    release = tmp_path / "release"
    process = subprocess.Popen([*torchrun, *args, f"run_dir={tmp_path / 'run'}"], start_new_session=True, text=True,
                               env={**env, "SELFSUP_TOY_PAUSE_AT_STEP": "4", "SELFSUP_TOY_PAUSE_FILE": str(release)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while not Path(f"{release}.reached").exists():
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    time.sleep(0.5)  # both ranks inside step 4
    os.killpg(process.pid, signal.SIGTERM)
    time.sleep(0.5)
    release.write_text("go")
    _, stderr = process.communicate(timeout=300)
    assert process.returncode != 0
    assert "Stopped by SIGTERM after step 4 of 10" in stderr
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("step-*.pt")) == ["step-00000004.pt"]
    command = stderr.split("Continue with: ", 1)[1].splitlines()[0]
    assert command.startswith("torchrun --nproc_per_node 2 -m selfsup pretrain --config ")
    resume = [*torchrun, *command.split(" -m selfsup ", 1)[1].split()]
    resumed = subprocess.run(resume, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a = load_file(str(tmp_path / "straight" / "encoder.safetensors"))
    b = load_file(str(tmp_path / "run" / "encoder.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
