"""Specs of the image backbones, the joint-embedding objectives and the ``cifar10-jpg``
split (torch-free; ``plugin.py`` adds them to its hooks' lists)."""

from __future__ import annotations

from selfsup import DatasetSpec, EncoderSpec, ObjectiveSpec

from .backbone_configs import RegNetYConfig, ResNetConfig, ViTConfig
from .ssl_configs import (
    BYOLConfig, CIFAR10JPGConfig, DINOConfig, GSimCLRConfig, ImageStreamConfig, MugsConfig, MYOWConfig, OBoWConfig, SEERConfig,
    SimCLRConfig, SiTConfig, SwAVConfig,
)

__all__ = ["backbone_encoders", "joint_embedding_objectives", "ssl_datasets", "IMAGE_BACKBONES"]

_VISION = frozenset({"vision"})
_B = "selfsup_vision.encoders.backbones:"
_O = "selfsup_vision.objectives."
#: Every image backbone a joint-embedding objective can train.
IMAGE_BACKBONES = ("resnet18", "resnet50", "vit-tiny", "vit-small", "vit-base", "regnety")
#: The ViTs (Mugs' relation block and memory, SiT's reconstruction head need patch tokens).
VIT_BACKBONES = ("vit-tiny", "vit-small", "vit-base")

#: SimCLR's CIFAR-10 command (``google-research/simclr`` README): LARS, lr 1.0 per 256, wd 1e-4.
SIMCLR_TRAINER = {"optimizer": "lars", "lr": 1.0, "weight_decay": 1e-4, "momentum": 0.9}
#: G-SimCLR's CIFAR-10 notebook: SGD (Keras: no momentum) lr 0.1, cosine decay, batch 64 (K = 64 clusters).
G_SIMCLR_TRAINER = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.0, "weight_decay": 0.0, "batch_size": 64, "warmup_fraction": 0.0}
#: BYOL (``deepmind-research:byol/configs/byol.py``): LARS, lr 0.2 per 256, wd 1.5e-6.
BYOL_TRAINER = {"optimizer": "lars", "lr": 0.2, "weight_decay": 1.5e-6, "momentum": 0.9}
#: MYOW's CIFAR-10 command (``nerdslab/myow:docs/cifar.md``): SGD lr 2.0 per 256, wd 5e-5, 30 of 800
#: epochs of warm-up; DDP may skip the mined heads, unused until the mined loss starts.
MYOW_TRAINER = {"optimizer": "sgd", "lr": 2.0, "weight_decay": 5e-5, "momentum": 0.9, "warmup_fraction": 30 / 800,
                "find_unused_parameters": True}
#: OBoW ResNet-18 (``valeoai/obow:config/ImageNet20/ResNet18_OBoW_full.yaml``): SGD lr 0.05 (cosine),
#: momentum 0.9, wd 5e-4, batch 128 (K = 8192 is a multiple of it); the config names no warm-up.
OBOW_TRAINER = {"optimizer": "sgd", "lr": 0.05, "weight_decay": 5e-4, "momentum": 0.9, "batch_size": 128,
                "warmup_fraction": 0.0}
#: DINO ViT-S/16 (``main_dino.py``): AdamW, lr 5e-4 per 256, wd 0.04, clip 3.0.
DINO_TRAINER = {"optimizer": "adamw", "lr": 5e-4, "weight_decay": 0.04, "grad_clip_norm": 3.0}
#: SiT (``Sara-Ahmed/SiT@7f22e9c:main.py``): AdamW, lr 5e-4 per 256, wd 0.04 (cosine to 0.1 there), clip 3.0.
SIT_TRAINER = {"optimizer": "adamw", "lr": 5e-4, "weight_decay": 0.04, "grad_clip_norm": 3.0}
#: Mugs ViT-S/16 (``sail-sg/mugs:main.py``): AdamW, lr 8e-4 per 256, wd 0.04, clip 3.0.
MUGS_TRAINER = {"optimizer": "adamw", "lr": 8e-4, "weight_decay": 0.04, "grad_clip_norm": 3.0}
#: SwAV bs-256 script: LARS, lr 0.6, wd 1e-6.
SWAV_TRAINER = {"optimizer": "lars", "lr": 0.6, "weight_decay": 1e-6, "momentum": 0.9}
#: SEER: LARS, wd 1e-5 (``wd1e5``), cosine schedule.
SEER_TRAINER = {"optimizer": "lars", "lr": 0.6, "weight_decay": 1e-5, "momentum": 0.9}


def backbone_encoders() -> list[EncoderSpec]:
    def spec(name: str, factory: str, config: type, description: str) -> EncoderSpec:
        return EncoderSpec(name=name, modality="vision", factory=_B + factory, config_cls=config, description=description)

    return [
        spec("resnet18", "build_resnet18", ResNetConfig, "timm ResNet-18, average-pooled 512-d features; CIFAR stem for images <= 64 px."),
        spec("resnet50", "build_resnet50", ResNetConfig, "timm ResNet-50, average-pooled 2048-d features; CIFAR stem for images <= 64 px."),
        spec("vit-tiny", "build_vit_tiny", ViTConfig, "timm ViT-Tiny (192-d CLS token), configurable patch and image size."),
        spec("vit-small", "build_vit_small", ViTConfig, "timm ViT-Small (384-d CLS token), configurable patch and image size."),
        spec("vit-base", "build_vit_base", ViTConfig, "timm ViT-Base (768-d CLS token), configurable patch and image size."),
        spec("regnety", "build_regnety", RegNetYConfig, "timm RegNetY trunk (SEER's family), average-pooled; encoder_config.variant picks the size."),
    ]


def joint_embedding_objectives() -> list[ObjectiveSpec]:
    def spec(name: str, factory: str, config: type, trainer: dict, description: str, encoder: str = "resnet18",
             encoders: tuple[str, ...] = IMAGE_BACKBONES) -> ObjectiveSpec:
        return ObjectiveSpec(
            name=name, modalities=_VISION, factory=_O + factory, config_cls=config, description=description,
            trainer_defaults=trainer, encoders=encoders, default_encoder=encoder,
            default_evaluators=("linear-probe", "knn"),  # fd-local scores GAN samples, not encoders
        )

    return [
        spec("simclr", "simclr:SimCLR", SimCLRConfig, SIMCLR_TRAINER, "SimCLR (Chen et al. 2020): two views, projection MLP, NT-Xent."),
        spec("g-simclr", "g_simclr:GSimCLR", GSimCLRConfig, G_SIMCLR_TRAINER,
             "G-SimCLR (Chakraborty et al. 2020): SimCLR on batches holding one image per k-means cluster of a denoising autoencoder's features."),
        spec("byol", "byol:BYOL", BYOLConfig, BYOL_TRAINER, "BYOL (Grill et al. 2020): online predictor regresses an EMA target's projection."),
        spec("myow", "myow:MYOW", MYOWConfig, MYOW_TRAINER, "MYOW (Azabou et al. 2021): BYOL plus a loss predicting mined nearest-neighbour views."),
        spec("obow", "obow:OBoW", OBoWConfig, OBOW_TRAINER,
             "OBoW (Gidaris et al. 2021): crops predict an EMA teacher's bags of visual words over online queue vocabularies."),
        spec("dino", "dino:DINO", DINOConfig, DINO_TRAINER, "DINO (Caron et al. 2021): multi-crop self-distillation to a centred, sharpened EMA teacher."),
        spec("mugs", "mugs:Mugs", MugsConfig, MUGS_TRAINER,
             "Mugs (Zhou et al. 2022): instance, local-group (relation block over memory neighbours) and group (DINO) losses from an EMA ViT teacher.",
             encoder="vit-tiny", encoders=VIT_BACKBONES),
        spec("sit", "sit:SiT", SiTConfig, SIT_TRAINER,
             "SiT (Atito et al. 2021, GMML): a ViT reconstructs GMML-corrupted pixels and matches an EMA teacher's clean-view CLS projection.",
             encoder="vit-small", encoders=VIT_BACKBONES),
        spec("swav", "swav:SwAV", SwAVConfig, SWAV_TRAINER, "SwAV (Caron et al. 2020): swapped prediction of Sinkhorn-Knopp codes across multi-crop views."),
        spec("seer", "swav:SwAV", SEERConfig, SEER_TRAINER, "SEER recipe: SwAV on a RegNetY trunk, 16k prototypes, 10 Sinkhorn iterations, no BN head.", encoder="regnety"),
    ]


def ssl_datasets(input_transform: str) -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="cifar10-jpg", modality="vision", input_transform=input_transform,
            factory="selfsup_vision.datasets.folder:ImageFolder", config_cls=CIFAR10JPGConfig,
            description="CIFAR-10 test images as JPEG (root/test/<class>/*.jpg), fixed 8k train / 2k test split.",
        ),
        DatasetSpec(
            name="image-stream", modality="vision", input_transform=input_transform,
            factory="selfsup_vision.datasets.stream:ImageStreamSource", config_cls=ImageStreamConfig,
            description="Uncurated images streamed from WebDataset tar shards or image folders, one pass at a time (SEER's setting); needs trainer.max_steps.",
        ),
    ]
