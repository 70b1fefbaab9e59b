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

    root: Optional[str] = None
    image_size: Optional[int] = None
    channels: Optional[int] = None
    fraction: float = 1.0
    fraction_seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    split_seed: int = 0


@dataclass
class ImageFolderConfig(ImageDataConfig):
    """``image-folder``: ``root/<class>/*.png|jpg`` (labelled), ``root/*.png|jpg`` (unlabelled),
    or ``root/{train,val,test}/...`` in either layout (the CIFAR-10 JPEG layout)."""


@dataclass
class CifarConfig(ImageDataConfig):
    """``cifar10`` / ``cifar100``: the python pickle batches (``cifar-10-batches-py``,
    ``cifar-100-python``). ``label_kind`` for CIFAR-100: ``fine`` (100) or ``coarse`` (20)."""

    label_kind: str = "fine"


@dataclass
class IdxConfig(ImageDataConfig):
    """``mnist`` / ``fashion-mnist``: ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``."""


@dataclass
class DigitsConfig(ImageDataConfig):
    """``digits``: scikit-learn's bundled 8×8 digits (1,797 images), upsampled to ``image_size``."""

    image_size: Optional[int] = 16


@dataclass
class BigGANDiscriminatorConfig:
    """``biggan-d``: the BigGAN discriminator trunk (residual DBlocks, ReLU, global sum pooling).

    BigGAN for 32×32 (``ajbrock/BigGAN-PyTorch`` ``D_arch[32]``): 4 DBlocks of
    4·D_ch = 256 channels, the first two downsampling. ``embed_dim`` = ``channels``.
    """

    channels: int = 256
    blocks: int = 4
    downsample_blocks: int = 2
    spectral_norm: bool = True
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

    g_channels: Optional[int] = None
    dim_z: int = 128
    conditional: bool = True
    g_spectral_norm: bool = True
    d_steps: int = 4
    g_lr: Optional[float] = None
    d_lr: Optional[float] = None
    policy: str = "color,translation,cutout"
    brightness: float = 1.0
    saturation: float = 1.0
    contrast: float = 1.0
    translation: float = 0.125
    cutout: float = 0.5
    mirror: bool = False
    ema_decay: float = 0.9999
    ema_start: int = 1000
    init_std: float = 0.02
    #: Save a grid of G_ema samples every N steps and after the last one (0: never) as
    #: ``<sample_root>/samples/step-NNNNNN.png``; ``sample_root`` defaults to the run directory.
    sample_every: int = 500
    sample_grid: int = 8
    sample_root: Optional[str] = "${oc.select:run_dir,null}"


@dataclass
class AugSelfGANConfig(DiffAugmentGANConfig):
    """AugSelf-GAN (Hou et al., NeurIPS 2023): DiffAugment plus D's augmentation-parameter
    regression (targets +ω real, −ω fake) and G's adversarial self-supervised term.

    ``augself``: the policies whose parameters the heads regress; ``d_augself`` / ``g_augself``:
    λ_d and λ_g (1.0 and 1.0 in the BigGAN scripts).
    """

    augself: str = "color,translation,cutout"
    d_augself: float = 1.0
    g_augself: float = 1.0


@dataclass
class AugSelfGANPlusConfig(AugSelfGANConfig):
    """AugSelf-GAN+: stronger translation (0.25) and cutout (0.75) (``augself+biggan-*.sh``)."""

    translation: float = 0.25
    cutout: float = 0.75


@dataclass
class FDLocalConfig:
    """``fd-local``: Fréchet distance / KID on a locally trained small classifier's features.

    ``num_samples`` generated images against as many real images of ``split`` (fewer when
    the split is smaller); the classifier trains ``classifier_epochs`` on the train split.
    """

    split: str = "test"
    num_samples: int = 2000
    batch_size: int = 500
    classifier_epochs: int = 3
    classifier_batch_size: int = 64
    kid_subsets: int = 10
    kid_subset_size: int = 1000


@dataclass
class FIDConfig:
    """``fid``: FID / KID on Inception-v3 pool3 features (10k samples vs the test split, as the paper).

    ``inception_weights``: path of pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``;
    ``None`` reads ``$SELFSUP_INCEPTION_WEIGHTS`` or ``~/.cache/selfsup/`` (never downloads).
    """

    inception_weights: Optional[str] = None
    split: str = "test"
    num_samples: int = 10000
    batch_size: int = 50
    kid_subsets: int = 100
    kid_subset_size: int = 1000
