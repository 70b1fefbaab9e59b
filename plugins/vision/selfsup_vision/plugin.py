"""The vision plugin's entry point: hook implementations returning specs, nothing else.

Factories are lazy ``"module:attribute"`` paths and the configs are torch-free
(:mod:`selfsup_vision.configs`), so registering imports neither torch nor torchvision.
"""

from __future__ import annotations

from selfsup import DatasetSpec, EncoderSpec, EvaluatorSpec, ModalitySpec, ObjectiveSpec, hookimpl

from .plugin_mim import mim_encoders, mim_objectives
from .configs import (
    AugSelfGANConfig,
    AugSelfGANPlusConfig,
    BigGANDiscriminatorConfig,
    CifarConfig,
    DiffAugmentGANConfig,
    DigitsConfig,
    FDLocalConfig,
    FIDConfig,
    IdxConfig,
    ImageFolderConfig,
)
from .ssl_specs import backbone_encoders, joint_embedding_objectives, ssl_datasets

__all__ = ["register_modalities", "register_encoders", "register_objectives", "register_datasets", "register_evaluators"]

VISION = frozenset({"vision"})
#: Every vision dataset's "image files -> batch" transform (``selfsup embed`` / ``export``).
IMAGE_INPUTS = "selfsup_vision.datasets.inputs:image_inputs"

#: BigGAN/AugSelf-BigGAN optimisation (``augself-biggan/scripts/*.sh``, ``BigGAN.py``): Adam,
#: lr 2e-4 for G and D, betas (0, 0.999), no weight decay, constant learning rate.
GAN_TRAINER_DEFAULTS = {
    "optimizer": "adam",
    "lr": 2e-4,
    "betas": [0.0, 0.999],
    "weight_decay": 0.0,
    "schedule": "constant",
    "warmup_steps": 0,
}


@hookimpl
def register_modalities() -> list[ModalitySpec]:
    return [
        ModalitySpec(
            name="vision",
            sample_unit="images",
            description="Images [rows, channels, height, width] in [-1, 1]; image SSL (SimCLR, G-SimCLR, BYOL, MYOW, DINO, SwAV, SEER, MAE) on timm backbones and GAN discriminator pretraining.",
            default_encoder="biggan-d",
            default_objective="augself-gan",
            default_dataset="digits",
            default_evaluators=("linear-probe", "knn", "fd-local"),
            # CPU-scale quick start: a 32-wide trunk (and generator, which follows the trunk's
            # width); the paper's BigGAN uses encoder_config.channels=256.
            overrides={
                "encoder_config": {"channels": 32},
                "trainer": {"max_steps": 300, "batch_size": 64},
            },
        )
    ]


@hookimpl
def register_encoders() -> list[EncoderSpec]:
    return [
        EncoderSpec(
            name="biggan-d",
            modality="vision",
            factory="selfsup_vision.networks.encoder:build_discriminator_trunk",
            config_cls=BigGANDiscriminatorConfig,
            description="BigGAN discriminator trunk: residual DBlocks with spectral norm, ReLU, global sum pooling.",
        ),
        *mim_encoders(),
    ] + backbone_encoders()


@hookimpl
def register_objectives() -> list[ObjectiveSpec]:
    return [
        ObjectiveSpec(
            name="augself-gan",
            modalities=VISION,
            factory="selfsup_vision.objectives.gan:AugSelfGAN",
            config_cls=AugSelfGANConfig,
            description="AugSelf-GAN (Hou et al. 2023): DiffAugment BigGAN + D regresses augmentation parameters (+w real, -w fake).",
            trainer_defaults=GAN_TRAINER_DEFAULTS,
            encoders=("biggan-d",),  # the GAN's discriminator trunk
        ),
        ObjectiveSpec(
            name="augself-gan-plus",
            modalities=VISION,
            factory="selfsup_vision.objectives.gan:AugSelfGAN",
            config_cls=AugSelfGANPlusConfig,
            description="AugSelf-GAN+: AugSelf-GAN with stronger translation (0.25) and cutout (0.75).",
            trainer_defaults=GAN_TRAINER_DEFAULTS,
            encoders=("biggan-d",),  # the GAN's discriminator trunk
        ),
        ObjectiveSpec(
            name="diffaugment",
            modalities=VISION,
            factory="selfsup_vision.objectives.gan:DiffAugmentGAN",
            config_cls=DiffAugmentGANConfig,
            description="DiffAugment BigGAN (Zhao et al. 2020), hinge loss, EMA generator; the AugSelf baseline.",
            trainer_defaults=GAN_TRAINER_DEFAULTS,
            encoders=("biggan-d",),  # the GAN's discriminator trunk
        ),
        *mim_objectives(),
    ] + joint_embedding_objectives()


@hookimpl
def register_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="digits",
            modality="vision",
            input_transform=IMAGE_INPUTS,
            factory="selfsup_vision.datasets.digits:Digits",
            config_cls=DigitsConfig,
            description="scikit-learn's bundled 8x8 digits (1797 images) upsampled to 16x16; needs no files.",
        ),
        DatasetSpec(
            name="image-folder",
            modality="vision",
            input_transform=IMAGE_INPUTS,
            factory="selfsup_vision.datasets.folder:ImageFolder",
            config_cls=ImageFolderConfig,
            description="PNG/JPEG images in class folders, flat, or train/val/test folders (e.g. the CIFAR-10 JPEG layout).",
        ),
        DatasetSpec(
            name="cifar10",
            modality="vision",
            input_transform=IMAGE_INPUTS,
            factory="selfsup_vision.datasets.cifar:cifar10",
            config_cls=CifarConfig,
            description="CIFAR-10 python pickle batches (cifar-10-batches-py) in data.root.",
        ),
        DatasetSpec(
            name="cifar100",
            modality="vision",
            input_transform=IMAGE_INPUTS,
            factory="selfsup_vision.datasets.cifar:cifar100",
            config_cls=CifarConfig,
            description="CIFAR-100 python pickles (cifar-100-python) in data.root; fine or coarse labels.",
        ),
        DatasetSpec(
            name="mnist",
            modality="vision",
            input_transform=IMAGE_INPUTS,
            factory="selfsup_vision.datasets.idx:mnist",
            config_cls=IdxConfig,
            description="MNIST IDX files (gzip or not) in data.root; train and/or t10k.",
        ),
        DatasetSpec(
            name="fashion-mnist",
            modality="vision",
            input_transform=IMAGE_INPUTS,
            factory="selfsup_vision.datasets.idx:fashion_mnist",
            config_cls=IdxConfig,
            description="Fashion-MNIST IDX files (gzip or not) in data.root; train and/or t10k.",
        ),
    ] + ssl_datasets(IMAGE_INPUTS)


@hookimpl
def register_evaluators() -> list[EvaluatorSpec]:
    return [
        EvaluatorSpec(
            name="fd-local",
            modalities=VISION,
            factory="selfsup_vision.evaluation.evaluators:FDLocal",
            tasks=frozenset({"binary", "multiclass"}),
            config_cls=FDLocalConfig,
            description="FD-local and KID: Fréchet distance / KID of G_ema samples on a locally trained small classifier's features (not FID).",
        ),
        EvaluatorSpec(
            name="fid",
            modalities=VISION,
            factory="selfsup_vision.evaluation.evaluators:FID",
            config_cls=FIDConfig,
            description="FID and KID on Inception-v3 pool3 features; needs pytorch-fid's pt_inception weights file (local path).",
        ),
    ]
