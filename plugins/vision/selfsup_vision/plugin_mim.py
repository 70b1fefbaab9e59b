"""The masked-image-modelling components' specs (``mae-vit``, ``mae``), returned by ``plugin.py``'s hooks.

Kept apart from ``plugin.py`` so each family of methods registers its specs in its own module;
torch-free, like every spec module.
"""

from __future__ import annotations

from selfsup import EncoderSpec, ObjectiveSpec

from .configs_mim import MAEConfig, MAEViTConfig

__all__ = ["mim_encoders", "mim_objectives", "MAE_TRAINER_DEFAULTS"]

VISION = frozenset({"vision"})

#: MAE pretraining (``facebookresearch/mae:PRETRAIN.md``, ``main_pretrain.py``): AdamW, betas
#: (0.9, 0.95), weight decay 0.05 (none on biases and norms), cosine schedule with warm-up. The
#: paper's lr is 1.5e-4 · batch/256 at batch 4096 (2.4e-3); here 1.5e-3 at batch 256.
MAE_TRAINER_DEFAULTS = {
    "optimizer": "adamw",
    "lr": 1.5e-3,
    "betas": [0.9, 0.95],
    "weight_decay": 0.05,
    "schedule": "cosine",
    "warmup_fraction": 0.05,
    "batch_size": 256,
}


def mim_encoders() -> list[EncoderSpec]:
    return [
        EncoderSpec(
            name="mae-vit",
            modality="vision",
            factory="selfsup_vision.encoders.mae_vit:build_mae_vit",
            config_cls=MAEViTConfig,
            requires=("timm",),
            description="MAE's ViT (timm blocks, fixed 2-D sin-cos positions); encodes visible patches only when masked.",
        )
    ]


def mim_objectives() -> list[ObjectiveSpec]:
    return [
        ObjectiveSpec(
            name="mae",
            modalities=VISION,
            factory="selfsup_vision.objectives.mae:MAE",
            config_cls=MAEConfig,
            requires=("timm",),
            description="MAE (He et al. 2022): ViT on 25% visible patches, light decoder, MSE on masked patches' normalised pixels.",
            trainer_defaults=MAE_TRAINER_DEFAULTS,
            encoders=("mae-vit",),
            default_encoder="mae-vit",
        )
    ]
