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
