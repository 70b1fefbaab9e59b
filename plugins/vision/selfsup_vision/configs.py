"""Config dataclasses of the vision plugin's components.

Standard library only, so that ``plugin.py`` registers every component without
importing torch or torchvision. Fields are OmegaConf structured-config
compatible (plain types and ``Optional[...]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

__all__ = [
    "ImageDataConfig",
    "ImageFolderConfig",
    "CifarConfig",
    "IdxConfig",
    "DigitsConfig",
    "BigGANDiscriminatorConfig",
    "DiffAugmentGANConfig",
    "AugSelfGANConfig",
    "AugSelfGANPlusConfig",
    "FDLocalConfig",
    "FIDConfig",
]


@dataclass
class ImageDataConfig:
    """Options every image dataset shares.

    * ``image_size``: resize every image to this square side (antialiased bilinear);
      ``None`` keeps the native size (all images must then have one size).
    * ``channels``: 1 (grayscale) or 3 (RGB); ``None`` picks 3 when any image is
      colour, else 1, and converts every image to it.
    * ``fraction``: keep this fraction of the *train* split, a fixed subset drawn with
      ``fraction_seed`` (the data-limited setting of AugSelf-GAN: 0.1, 0.2).
    * ``val_fraction`` / ``test_fraction``: when the files hold fewer splits than
      train/val/test, these fractions are carved out of the data with ``split_seed``.
    """

    #: Folder holding the dataset's files.
    root: Optional[str] = None
    #: Resize every image to this square side (antialiased bilinear); ``None`` keeps the native size.
    image_size: Optional[int] = None
    #: 1 (grayscale) or 3 (RGB); ``None``: 3 when any image is colour, else 1.
    channels: Optional[int] = None
    #: Keep this fraction of the train split (a fixed subset drawn with ``fraction_seed``).
    fraction: float = 1.0
    #: Seed of the ``fraction`` subset.
    fraction_seed: int = 0
    #: Share carved out for validation when the files have no val split.
    val_fraction: float = 0.1
    #: Share carved out for testing when the files hold a single split.
    test_fraction: float = 0.1
    #: Seed of the carved-out splits.
    split_seed: int = 0


@dataclass
class ImageFolderConfig(ImageDataConfig):
    """``image-folder``: ``root/<class>/*.png|jpg`` (labelled), ``root/*.png|jpg`` (unlabelled),
    or ``root/{train,val,test}/...`` in either layout (the CIFAR-10 JPEG layout)."""


@dataclass
class CifarConfig(ImageDataConfig):
    """``cifar10`` / ``cifar100``: the python pickle batches (``cifar-10-batches-py``,
    ``cifar-100-python``). ``label_kind`` for CIFAR-100: ``fine`` (100) or ``coarse`` (20)."""

    #: CIFAR-100 labels: ``fine`` (100 classes) or ``coarse`` (20).
    label_kind: str = "fine"


@dataclass
class IdxConfig(ImageDataConfig):
    """``mnist`` / ``fashion-mnist``: ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``."""


@dataclass
class DigitsConfig(ImageDataConfig):
    """``digits``: scikit-learn's bundled 8×8 digits (1,797 images), upsampled to ``image_size``."""

    #: Side the 8×8 digits are upsampled to.
    image_size: Optional[int] = 16


@dataclass
class BigGANDiscriminatorConfig:
    """``biggan-d``: the BigGAN discriminator trunk (residual DBlocks, ReLU, global sum pooling).

    BigGAN for 32×32 (``ajbrock/BigGAN-PyTorch`` ``D_arch[32]``): 4 DBlocks of
    4·D_ch = 256 channels, the first two downsampling. ``embed_dim`` = ``channels``.
    """

    #: Channels of every DBlock; also the embedding size.
    channels: int = 256
    #: Number of residual DBlocks.
    blocks: int = 4
    #: How many of the first blocks halve the resolution.
    downsample_blocks: int = 2
    #: Spectral normalisation on every layer.
    spectral_norm: bool = True
    #: Standard deviation of the N(0, std) weight init.
    init_std: float = 0.02


@dataclass
class DiffAugmentGANConfig:
    """The BigGAN-style GAN with DiffAugment (Zhao et al., 2020), hinge loss, EMA generator.

    Defaults follow ``liang-hou/augself-gan:augself-biggan/scripts/*-cifar10-0.1.sh``:
    policy ``color,translation,cutout``, 4 D steps per G step, G_ch = D_ch (``g_channels``
    ``None``: the discriminator trunk's width, 256 in the paper), dim_z 128, N(0, 0.02) init, EMA 0.9999 from iteration 1000. Optimiser settings
    (Adam, lr 2e-4, betas (0, 0.999)) are the objective's trainer defaults; ``g_lr`` /
    ``d_lr`` override ``trainer.lr`` for one network.
    ``trainer.batch_size`` is the number of real images per step (BigGAN's loader batch,
    batch·num_D_steps): each of the ``d_steps`` discriminator updates uses its own slice.
    """

    #: Generator width; ``None``: the discriminator trunk's ``channels``.
    g_channels: Optional[int] = None
    #: Size of the latent z.
    dim_z: int = 128
    #: Class-conditional G and projection D (needs labelled data).
    conditional: bool = True
    #: Spectral normalisation in the generator.
    g_spectral_norm: bool = True
    #: Discriminator updates per generator update.
    d_steps: int = 4
    #: Generator learning rate; ``None``: ``trainer.lr``.
    g_lr: Optional[float] = None
    #: Discriminator learning rate; ``None``: ``trainer.lr``.
    d_lr: Optional[float] = None
    #: DiffAugment policies applied to real and fake images, comma-separated.
    policy: str = "color,translation,cutout"
    #: Strength of the brightness augmentation.
    brightness: float = 1.0
    #: Strength of the saturation augmentation.
    saturation: float = 1.0
    #: Strength of the contrast augmentation.
    contrast: float = 1.0
    #: Largest translation, as a share of the image side.
    translation: float = 0.125
    #: Side of the cutout square, as a share of the image side.
    cutout: float = 0.5
    #: Also flip images horizontally at random.
    mirror: bool = False
    #: Decay of the EMA generator used for samples and metrics.
    ema_decay: float = 0.9999
    #: Step from which the EMA generator averages (before it: a copy).
    ema_start: int = 1000
    #: Standard deviation of the N(0, std) weight init.
    init_std: float = 0.02
    #: Save a grid of G_ema samples every N steps and after the last one (0: never) as
    #: ``<sample_root>/samples/step-NNNNNN.png``; ``sample_root`` defaults to the run directory.
    sample_every: int = 500
    #: The sample grid is sample_grid × sample_grid images.
    sample_grid: int = 8
    #: Where ``samples/`` goes; defaults to the run directory.
    sample_root: Optional[str] = "${oc.select:run_dir,null}"


@dataclass
class AugSelfGANConfig(DiffAugmentGANConfig):
    """AugSelf-GAN (Hou et al., NeurIPS 2023): DiffAugment plus D's augmentation-parameter
    regression (targets +ω real, −ω fake) and G's adversarial self-supervised term.

    ``augself``: the policies whose parameters the heads regress; ``d_augself`` / ``g_augself``:
    λ_d and λ_g (1.0 and 1.0 in the BigGAN scripts). ``d_augself_data``: the images D's heads
    regress, ``all`` (real to +ω and generated to −ω, as released) or ``real`` (real images only;
    the ablation switch ``--SS_D_data real`` of ``liang-hou/augself-gan`` commit ``5da2867``).
    """

    #: Policies whose parameters the discriminator's heads regress, comma-separated.
    augself: str = "color,translation,cutout"
    #: Weight λ_d of the discriminator's self-supervised term.
    d_augself: float = 1.0
    #: Weight λ_g of the generator's adversarial self-supervised term.
    g_augself: float = 1.0
    #: Images D's heads regress: ``all`` (real +ω, generated −ω; released) or ``real`` (real only).
    d_augself_data: str = "all"


@dataclass
class AugSelfGANPlusConfig(AugSelfGANConfig):
    """AugSelf-GAN+: stronger translation (0.25) and cutout (0.75) (``augself+biggan-*.sh``)."""

    #: Largest translation, as a share of the image side (stronger than AugSelf-GAN's).
    translation: float = 0.25
    #: Side of the cutout square, as a share of the image side (stronger than AugSelf-GAN's).
    cutout: float = 0.75


@dataclass
class FDLocalConfig:
    """``fd-local``: Fréchet distance / KID on a locally trained small classifier's features.

    ``num_samples`` generated images against as many real images of ``split`` (fewer when
    the split is smaller); the classifier trains ``classifier_epochs`` on the train split.
    """

    #: Split of the real images compared with generated ones.
    split: str = "test"
    #: Generated images scored (capped at the split's size).
    num_samples: int = 2000
    #: Batch size of generation and feature extraction.
    batch_size: int = 500
    #: Epochs of the small feature classifier on the train split.
    classifier_epochs: int = 3
    #: Batch size of the classifier's training.
    classifier_batch_size: int = 64
    #: Number of KID subsets.
    kid_subsets: int = 10
    #: Images per KID subset.
    kid_subset_size: int = 1000


@dataclass
class FIDConfig:
    """``fid``: FID / KID on Inception-v3 pool3 features (10k samples vs the test split, as the paper).

    ``inception_weights``: path of pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``;
    ``None`` reads ``$SELFSUP_INCEPTION_WEIGHTS`` or ``~/.cache/selfsup/`` (never downloads).
    """

    #: Path of pytorch-fid's Inception weights; ``None``: ``$SELFSUP_INCEPTION_WEIGHTS`` or ``~/.cache/selfsup/``.
    inception_weights: Optional[str] = None
    #: Split of the real images compared with generated ones.
    split: str = "test"
    #: Generated images scored.
    num_samples: int = 10000
    #: Batch size of generation and feature extraction.
    batch_size: int = 50
    #: Number of KID subsets.
    kid_subsets: int = 100
    #: Images per KID subset.
    kid_subset_size: int = 1000
