"""Pretraining step cost of ssast (AST) and ssamba (amba), ``cpu`` sizes, 128 frames (64 tokens).

``ssamba`` runs with the fused CPU scan kernel and with the chunked PyTorch scan. One AdamW
step = two forward passes (independent masks) + backward, batch 32, random fbank
input, one intra-op thread; prints process CPU seconds per step (mean of steps 2-4), which on
a shared machine is what the step would take on an idle core. Usage (repository root)::

    nice -n 5 .venv/bin/python plugins/audio/scripts/bench_pretrain_speed.py
"""

from __future__ import annotations

import json
import time

import torch

from selfsup_audio.configs import AMBAConfig, ASTConfig, SSAMBAConfig, SSASTConfig
from selfsup_audio.encoders.ast import ASTEncoder
from selfsup_audio.encoders.mamba import AMBAEncoder
from selfsup_audio.objectives.ssamba import SSAMBA
from selfsup_audio.objectives.ssast import SSAST

INFO = {"num_mel_bins": 128, "target_length": 128}


def main(batch: int = 32, steps: int = 4) -> None:
    torch.set_num_threads(1)
    for name, scan in (("ssast", None), ("ssamba", "cpu-kernel"), ("ssamba", "chunked")):
        torch.manual_seed(0)
        if name == "ssamba":
            objective = SSAMBA(SSAMBAConfig(), AMBAEncoder(AMBAConfig(size="cpu", scan=scan), INFO), INFO)
        else:
            objective = SSAST(SSASTConfig(), ASTEncoder(ASTConfig(size="cpu"), INFO), INFO)
        optimizer = torch.optim.AdamW(objective.parameters(), lr=1e-4)
        x = torch.randn(batch, 128, 128) * 0.5
        cpu = []
        for _ in range(steps):
            start = time.process_time()
            out = objective.training_step({"x": x}, step=1, phase="main")
            optimizer.zero_grad()
            out["loss"].backward()
            optimizer.step()
            cpu.append(time.process_time() - start)
        per_step = sum(cpu[1:]) / (steps - 1)
        print(json.dumps({"objective": name, "scan": scan, "batch": batch, "cpu_s_per_step": round(per_step, 3),
                          "samples_per_cpu_s": round(batch / per_step, 1),
                          "encoder_params": sum(p.numel() for p in objective.encoder.parameters())}), flush=True)


if __name__ == "__main__":
    main()
