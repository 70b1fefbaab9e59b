"""Train the toy distributed-test objectives; run under ``torchrun`` or alone.

``python ddp_worker.py OUT CASE[,CASE...]`` where a case is ``<objective>:<steps>`` with
optional ``:ckpt=<run_dir>`` (checkpoint every 2 steps into run_dir), ``:resume=<run_dir>``
and ``:strategy=fsdp``.
Each rank saves ``OUT/<objective>-<steps>-rank<r>.pt`` with the state dict and gradients.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.distributed.tensor import DTensor

sys.path.insert(0, str(Path(__file__).parent))

import selfsup_toy  # noqa: E402

from selfsup.config import TrainerConfig  # noqa: E402
from selfsup.engine.distributed import DistributedContext  # noqa: E402
from selfsup.engine.trainer import Trainer  # noqa: E402

OBJECTIVES = {"infonce": selfsup_toy.InfoNCE, "ema-target": selfsup_toy.EMATarget, "two-player": selfsup_toy.TwoPlayer,
              "denoise": selfsup_toy.Denoise}  # denoise draws noise from each rank's RNG


def run_case(case: str, out: Path) -> None:
    name, steps, *options = case.split(":")
    settings = dict(option.split("=", 1) for option in options)
    torch.manual_seed(0)
    data = selfsup_toy.Blobs(selfsup_toy.BlobsConfig())
    encoder = selfsup_toy.MLPEncoder(selfsup_toy.MLPConfig(), data.info)
    objective = OBJECTIVES[name](selfsup_toy.DenoiseConfig(), encoder, data.info)
    config = TrainerConfig(
        max_steps=int(steps), batch_size=32, optimizer="sgd", lr=0.1, momentum=0.9, schedule="constant",
        warmup_steps=0, progress="off", checkpoint_every=2 if "ckpt" in settings else 0,
        keep_checkpoints=5, resume="resume" in settings, strategy=settings.get("strategy", "ddp"),
    )
    run_dir = settings.get("ckpt") or settings.get("resume")
    trainer = Trainer(config, run_dir=run_dir, seed=0)
    trainer.fit(objective, data)
    def full(tensor: torch.Tensor) -> torch.Tensor:  # FSDP holds shards (DTensor)
        return tensor.full_tensor() if isinstance(tensor, DTensor) else tensor

    torch.save(
        {
            "state": {key: full(value).detach().clone() for key, value in objective.state_dict().items()},
            "grads": {key: full(p.grad).clone() for key, p in objective.named_parameters() if p.grad is not None},
            "loss": [line.get("loss", line.get("loss/critic")) for line in trainer.history],
        },
        out / f"{name}-{steps}{'-resumed' if 'resume' in settings else ''}{'-fsdp' if 'strategy' in settings else ''}-rank{trainer.dist.rank}.pt",
    )


def main() -> None:
    out, cases = Path(sys.argv[1]), sys.argv[2].split(",")
    job = DistributedContext.from_env()
    created = job.init_process_group(torch.device("cpu"))
    try:
        for case in cases:
            run_case(case, out)
    finally:
        if created:
            job.leave_process_group()


if __name__ == "__main__":
    main()
