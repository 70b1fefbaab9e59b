"""The timeseries plugin's configs: standard-library dataclasses only.

:mod:`selfsup_timeseries.plugin` imports them to register its components, so registering
imports neither torch nor numpy nor PyWavelets (``selfsup list`` stays fast; the
``PluginImportContract`` test checks it). The modules that use each config import it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

__all__ = [
    "ResNet1DConfig",
    "FrameResNet1DConfig",
    "FrameProjectionsConfig",
    "TSSimCLRConfig",
    "UCRConfig",
    "CSVWindowsConfig",
    "SyntheticPulsesConfig",
    "UNEQUAL_LENGTH_POLICIES",
]

#: What a loader does with series of unequal length: ``refuse`` (a DatasetError naming the
#: lengths), ``resample`` (linear interpolation to ``data.length`` or the longest series),
#: ``pad`` (zeros after the end, to ``data.length`` or the longest series).
UNEQUAL_LENGTH_POLICIES = ("refuse", "resample", "pad")


@dataclass
class ResNet1DConfig:
    """The official time encoder (``models/models_nc.py:ResNet1D``, ``backbone=True``).

    Official (``trainer_SSL_LE.py``): base_filters 32, kernel 5, stride 2, 8 blocks
    (``--block``), downsampling every 2nd block, filters doubled every 4th, BatchNorm on,
    dropout on, out_dim 128. Here 4 blocks by default so that a run fits a CPU budget.
    """

    #: Filters of the first block (doubled every ``increasefilter_gap`` blocks).
    base_filters: int = 32
    kernel_size: int = 5
    #: Stride of the downsampling blocks.
    stride: int = 2
    #: Residual blocks (official ``--block`` 8).
    n_block: int = 4
    downsample_gap: int = 2
    increasefilter_gap: int = 4
    use_bn: bool = True
    #: Dropout (p 0.5) inside the blocks, as the official default ``use_do=True``.
    use_do: bool = True
    #: The embedding width (official ``--out_dim`` 128): ``dense2`` after global average pooling.
    out_dim: int = 128


@dataclass
class FrameResNet1DConfig(ResNet1DConfig):
    """The inference encoder of frame projections (``models/frameworks.py:IntegratedEncoder``):
    the time ResNet plus the two second-stage mappers (``ConvMapping``, hidden_channels 1);
    ``forward`` returns concat[P_f(h), h, P_w(h)] (3 · out_dim)."""

    #: Hidden channels of the two second-stage mappers (official ``train_mappers``: 1).
    mapper_hidden: int = 1
    mapper_kernel: int = 3


@dataclass
class FrameProjectionsConfig:
    """Frame projections (Demirel & Holz, NeurIPS 2025; ``eth-siplab/Learning-with-FrameProjections``).

    Defaults are the official ones (``models/frameworks.py:IsoAlign``, ``utils.py``,
    ``trainer_SSL_LE.py``) except two CPU budgets: ``pretrain_steps`` (the paper trains 256 epochs)
    and ``cwt_filters`` (16, the official 32 halved: the CWT U-Net is 90 % of a step's CPU time and
    costs ~3x at 32; ``benchmarks/README.md`` § Default commands, issue 21).
    """

    #: NT-Xent temperature (hard-coded 0.15 in ``IsoAlign.cont_loss``).
    temperature: float = 0.15
    #: Projector output width (``--p`` 128); each projector is Linear(bb, bb) → ReLU → Linear(bb, dim).
    projection_dim: int = 128
    #: Hidden channels of the pretraining predictors P_f, P_w (``ConvMapping(hidden_channels=64)``).
    predictor_hidden: int = 64
    #: Wavelet of the overcomplete frame (``WaveletTransform(wavelet='cmor1-1')``).
    wavelet: str = "cmor1-1"
    #: Number of log-spaced CWT scales (``np.geomspace(1, 128, num=48)``).
    num_scales: int = 48
    min_scale: float = 1.0
    max_scale: float = 128.0
    #: Sampling rate given to ``pywt.cwt`` (official 25 Hz; it scales the reported frequencies only).
    sampling_rate: float = 25.0
    #: Filters of the CWT U-Net (official ``UNET_2D_simp(layer_n=32, kernel_size=5)``; 16 here, a CPU budget).
    cwt_filters: int = 16
    cwt_kernel: int = 5
    #: Kernel of the Fourier encoder's convolutions (``FourierEncoder(kernel_size=3)``).
    fourier_kernel: int = 3
    #: Steps of stage 1 (joint pretraining); the run's later steps train the mappers (stage 2).
    pretrain_steps: int = 150
    #: Learning rate of stage 2 (``train_mappers`` uses ``args.lr``, the pretraining lr); None: trainer.lr.
    mapper_lr: Optional[float] = None


@dataclass
class TSSimCLRConfig:
    """A SimCLR-style baseline: two augmented views (jitter, scaling, time shift), NT-Xent."""

    temperature: float = 0.15
    projection_dim: int = 128
    #: Gaussian jitter std, relative to each series' std.
    jitter: float = 0.1
    #: Std of the log of a per-channel scale factor.
    scale_log_std: float = 0.2
    #: Largest circular time shift, as a fraction of the length.
    max_shift: float = 0.1


@dataclass
class _SeriesCommon:
    #: Target length; ``None``: the series' own (equal) length or the longest (``pad``/``resample``).
    length: Optional[int] = None
    #: See ``UNEQUAL_LENGTH_POLICIES``.
    unequal_length: str = "refuse"
    #: Z-normalise each series per channel (UCR convention).
    znorm: bool = True


@dataclass
class UCRConfig(_SeriesCommon):
    """A UCR/UEA archive problem: ``<root>/<name>/<name>_TRAIN.<ext>`` and ``_TEST.<ext>``."""

    #: The folder holding the problem folders (or the problem's files directly).
    root: str = ""
    #: Problem name, e.g. ``GunPoint``.
    name: str = ""
    #: ``auto`` (the first of ts, arff, tsv, txt found), ``ts``, ``arff``, ``tsv`` or ``txt``.
    format: str = "auto"


@dataclass
class CSVWindowsConfig(_SeriesCommon):
    """A CSV of windows: one row per window, columns ``<channel>_<t>`` or plain values, a label column."""

    #: The CSV file of the training windows.
    path: str = ""
    #: An optional CSV of test windows (same columns); ``""``: a seeded split of ``path``.
    test_path: str = ""
    #: The label column (``""``: unlabelled).
    label_column: str = "label"
    #: ``classification`` or ``regression``.
    task: str = "classification"
    #: Channels per window; the value columns are read channel-major (``c0_t0, c0_t1, ..., c1_t0, ...``).
    num_channels: int = 1
    #: Share of rows held out as the test split when ``test_path`` is empty.
    test_fraction: float = 0.25
    seed: int = 0


@dataclass
class SyntheticPulsesConfig:
    """The embedded default: quasi-periodic pulse trains, the target is their rate (regression)."""

    train_size: int = 512
    test_size: int = 256
    length: int = 128
    num_channels: int = 1
    #: Sampling rate (Hz); the rate is drawn in [min_rate, max_rate] Hz.
    sampling_rate: float = 25.0
    min_rate: float = 0.8
    max_rate: float = 3.0
    noise: float = 0.3
    #: Probability of a motion-like step artefact per series.
    artefact_probability: float = 0.3
    seed: int = 0
