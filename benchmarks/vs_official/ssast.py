"""SSAST step: selfsup against the official code (YuanGongND/ssast @ a1a3eec), one process per run.

The same model both sides: SSAST-tiny (192 wide, 12 blocks, 3 heads, two CLS tokens), 16×16
patches over 128 mel bins × 256 frames (8 × 16 = 128 patches, 100 masked: 400/512 as released),
batch 8, the joint task (two forward passes with independent cluster masks, L = L_d + 10·L_g),
Adam (lr 1e-4, weight decay 5e-7, betas 0.95/0.999) as ``src/traintest_mask.py``; one torch
thread. Each side is timed in its own process (CPU time of the whole step: both masks, both
passes, both heads, the loss, backward, the optimiser step).

* official: ``ASTModel(fshape=16, tshape=16, ..., model_size='tiny', pretrain_stage=True)`` from
  ``src/models/ast_models.py`` with timm 0.4.5 (its own venv; ``fetch_official.sh``), the loop
  body of ``traintest_mask.py`` (``pretrain_mpc`` then ``pretrain_mpg``, ``loss1 + 10 * loss2``,
  ``zero_grad``, ``backward``, ``step``) without ``DataParallel`` (one CPU);
* selfsup: the ``ssast`` objective's ``training_step``, ``backward`` and the optimiser the engine
  builds for it (``selfsup.engine.optim.build_optimizer``: fused Adam on the CPU).

``export`` (selfsup venv) writes the selfsup model's weights under the official names, one input,
the two masks and selfsup's losses and gradients; ``check`` (official venv) loads them into the
official model, feeds the same masks (its ``gen_maskid_patch`` replaced by a replay of them) and
prints the largest differences; ``time`` prints per-step CPU seconds. ``run.py`` drives them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

BATCH, FRAMES, MELS, SIZE = 8, 256, 128, "tiny"
NUM_MASKED = 100  # round(400 / 512 · 128)
LR, WD, BETAS = 1e-4, 5e-7, (0.95, 0.999)


# ------------------------------------------------------------------ selfsup side


def _selfsup_objective(attention: str = "fused") -> Any:
    from selfsup_audio.configs import ASTConfig, SSASTConfig
    from selfsup_audio.encoders.ast import ASTEncoder
    from selfsup_audio.objectives.ssast import SSAST

    info = {"num_mel_bins": MELS, "target_length": FRAMES}
    torch.manual_seed(0)
    encoder = ASTEncoder(ASTConfig(size=SIZE, attention=attention), info)
    return SSAST(SSASTConfig(num_masked=NUM_MASKED), encoder, info)


def official_state(objective: Any) -> dict[str, torch.Tensor]:
    """selfsup's SSAST weights under ``ASTModel``'s parameter names (timm 0.4.5 DeiT)."""
    enc, out = objective.encoder, {}
    sd = {k: v.detach().clone() for k, v in objective.state_dict().items()}
    out["mask_embed"] = sd["mask_embed"]
    out["v.cls_token"] = sd["encoder.cls_tokens"][:, :1].clone()
    out["v.dist_token"] = sd["encoder.cls_tokens"][:, 1:].clone()
    out["v.pos_embed"] = sd["encoder.pos_embed"]
    out["v.patch_embed.proj.weight"] = sd["encoder.patch_embed.weight"]
    out["v.patch_embed.proj.bias"] = sd["encoder.patch_embed.bias"]
    for i in range(len(enc.blocks)):
        a, b = f"encoder.blocks.{i}.", f"v.blocks.{i}."
        for n in ("norm1", "norm2"):
            out[b + n + ".weight"], out[b + n + ".bias"] = sd[a + n + ".weight"], sd[a + n + ".bias"]
        out[b + "attn.qkv.weight"], out[b + "attn.qkv.bias"] = sd[a + "attn.in_proj_weight"], sd[a + "attn.in_proj_bias"]
        out[b + "attn.proj.weight"], out[b + "attn.proj.bias"] = sd[a + "attn.out_proj.weight"], sd[a + "attn.out_proj.bias"]
        out[b + "mlp.fc1.weight"], out[b + "mlp.fc1.bias"] = sd[a + "mlp.0.weight"], sd[a + "mlp.0.bias"]
        out[b + "mlp.fc2.weight"], out[b + "mlp.fc2.bias"] = sd[a + "mlp.3.weight"], sd[a + "mlp.3.bias"]
    out["v.norm.weight"], out["v.norm.bias"] = sd["encoder.norm.weight"], sd["encoder.norm.bias"]
    for mine, theirs in (("disc_head", "cpredlayer"), ("gen_head", "gpredlayer")):
        for j in (0, 2):
            out[f"{theirs}.{j}.weight"], out[f"{theirs}.{j}.bias"] = sd[f"{mine}.{j}.weight"], sd[f"{mine}.{j}.bias"]
    return out


def _selfsup_optimizer(objective: Any) -> torch.optim.Optimizer:
    from selfsup.engine.optim import build_optimizer

    settings = {"optimizer": "adam", "lr": LR, "weight_decay": WD, "betas": list(BETAS),
                "exclude_bias_and_norm_from_weight_decay": False}
    return build_optimizer(list(objective.parameters()), settings, device=torch.device("cpu"))


def export(path: Path, attention: str, compile: bool = False) -> None:
    objective = _selfsup_objective(attention)
    torch.manual_seed(1)
    x = torch.randn(BATCH, FRAMES, MELS)
    masks = [objective.sample_mask(BATCH, x.device), objective.sample_mask(BATCH, x.device)]
    replay = iter(masks)
    objective.sample_mask = lambda batch, device: next(replay)
    step_fn = torch.compile(objective.training_step) if compile else objective.training_step
    out = step_fn({"x": x}, step=1, phase="train")
    out["loss"].backward()
    grads = official_state_grads(objective)
    torch.save({"state": official_state(objective), "x": x, "masks": masks, "loss": out["loss"].detach(),
                "nce": out["nce"], "mse": out["mse"], "grads": grads}, path)


def official_state_grads(objective: Any) -> dict[str, torch.Tensor]:
    """The gradients, under the official names (same mapping as :func:`official_state`)."""
    saved = {k: v.detach().clone() for k, v in objective.state_dict().items()}
    with torch.no_grad():
        for name, p in objective.named_parameters():
            p.copy_(p.grad)
    grads = official_state(objective)
    objective.load_state_dict(saved)
    return grads


def time_selfsup(steps: int, attention: str, compile: bool = False) -> list[float]:
    objective = _selfsup_objective(attention)
    objective.train()
    optimizer = _selfsup_optimizer(objective)
    # as the engine does with trainer.compile=true
    step_fn = torch.compile(objective.training_step) if compile else objective.training_step
    torch.manual_seed(1)
    x = torch.randn(BATCH, FRAMES, MELS)
    times = []
    for step in range(1, steps + 1):
        start = time.process_time()
        loss = step_fn({"x": x}, step=step, phase="train")["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.process_time() - start)
    return times


# ------------------------------------------------------------------ official side


def _official_model(src: Path) -> Any:
    sys.path.insert(0, str(src / "src" / "models"))
    import contextlib
    import io

    from ast_models import ASTModel  # noqa: E402  (the official file)

    with contextlib.redirect_stdout(io.StringIO()):
        return ASTModel(fshape=16, tshape=16, fstride=16, tstride=16, input_fdim=MELS, input_tdim=FRAMES,
                        model_size=SIZE, pretrain_stage=True)


def check(src: Path, ref: Path) -> dict[str, float]:
    saved = torch.load(ref, weights_only=True)
    model = _official_model(src)
    missing, unexpected = model.load_state_dict(saved["state"], strict=False)
    assert not unexpected and set(missing) <= {"v.head.weight", "v.head.bias", "v.head_dist.weight",
                                                "v.head_dist.bias", "p_input_fdim", "p_input_tdim"}, missing
    order = iter(list(saved["masks"][0]) + list(saved["masks"][1]))  # mpc draws clip by clip, then mpg
    model.gen_maskid_patch = lambda *args, **kwargs: next(order)
    x = saved["x"]
    acc, nce = model(x, "pretrain_mpc", mask_patch=NUM_MASKED, cluster=True)
    mse = model(x, "pretrain_mpg", mask_patch=NUM_MASKED, cluster=True)
    loss = nce + 10 * mse
    loss.backward()
    params = dict(model.named_parameters())
    grad_diff = max(float((params[k].grad - g).abs().max()) for k, g in saved["grads"].items())
    grad_scale = max(float(g.abs().max()) for g in saved["grads"].values())
    return {"loss_official": float(loss), "loss_selfsup": float(saved["loss"]),
            "loss_abs_diff": abs(float(loss) - float(saved["loss"])),
            "nce_abs_diff": abs(float(nce) - float(saved["nce"])), "mse_abs_diff": abs(float(mse) - float(saved["mse"])),
            "grad_max_abs_diff": grad_diff, "grad_max_abs": grad_scale}


def time_official(src: Path, steps: int) -> list[float]:
    torch.manual_seed(0)
    model = _official_model(src)
    model.train()
    trainables = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainables, LR, weight_decay=WD, betas=BETAS)
    torch.manual_seed(1)
    x = torch.randn(BATCH, FRAMES, MELS)
    times = []
    for _ in range(steps):
        start = time.process_time()
        acc, loss1 = model(x, "pretrain_mpc", mask_patch=NUM_MASKED, cluster=True)
        acc, loss1 = acc.mean(), loss1.mean()
        loss2 = model(x, "pretrain_mpg", mask_patch=NUM_MASKED, cluster=True).mean()
        loss = loss1 + 10 * loss2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.process_time() - start)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["export", "check", "time"])
    parser.add_argument("--impl", choices=["selfsup", "official"], default="selfsup")
    parser.add_argument("--official-src", type=Path, help="the fetched YuanGongND/ssast checkout")
    parser.add_argument("--ref", type=Path, help="export's file")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--attention", default="fused", choices=["fused", "materialised"])
    parser.add_argument("--compile", action="store_true", help="selfsup side: torch.compile the step (trainer.compile)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.mode == "export":
        export(args.ref, args.attention, args.compile)
        print(json.dumps({"wrote": str(args.ref)}))
    elif args.mode == "check":
        print(json.dumps(check(args.official_src, args.ref)))
    elif args.impl == "official":
        print(json.dumps({"cpu_s": time_official(args.official_src, args.steps)}))
    else:
        print(json.dumps({"cpu_s": time_selfsup(args.steps, args.attention, args.compile)}))


if __name__ == "__main__":
    main()
