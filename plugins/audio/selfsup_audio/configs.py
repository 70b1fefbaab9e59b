"""Config dataclasses of every audio component.

This module imports only the standard library, so ``selfsup_audio.plugin`` can
register specs without importing torch or torchaudio. Fields are OmegaConf
structured-config compatible (plain types and ``Optional``).

Feature defaults follow SSAST (YuanGongND/ssast @ a1a3eec, ``src/dataloader.py``
``_wav2fbank``): 16 kHz, ``kaldi.fbank(htk_compat=True, use_energy=False,
window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10)`` (25 ms
default frame length), zero padding / cutting to ``target_length`` frames, then
``(fbank - mean) / (2 * std)`` with the AudioSet constants
(``src/run.sh``: ``dataset_mean=-4.2677393``, ``dataset_std=4.5689974``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

__all__ = [
    "AUDIOSET_MEAN",
    "AUDIOSET_STD",
    "FeatureConfig",
    "FSDDConfig",
    "AudioFolderConfig",
    "ESC50Config",
    "SpeechCommandsConfig",
    "SyntheticSoundsConfig",
    "ASTConfig",
    "SSASTConfig",
    "AMBA_SIZES",
    "AMBAConfig",
    "SSAMBAConfig",
]

#: SSAST's AudioSet fbank statistics (the default for unknown data).
AUDIOSET_MEAN = -4.2677393
AUDIOSET_STD = 4.5689974


@dataclass
class FeatureConfig:
    """Log-mel filterbank settings shared by every audio dataset (SSAST defaults)."""

    #: Waveforms are resampled to this rate before the filterbank.
    sample_rate: int = 16000
    #: Mel bins (SSAST: 128).
    num_mel_bins: int = 128
    #: Frames after padding (zeros appended) or cutting (SSAST: 1024 for AudioSet,
    #: 128 for Speech Commands; 128 = 1.28 s fits FSDD's clips, median 0.42 s).
    target_length: int = 128
    #: ``"fixed"``: normalise with ``norm_mean``/``norm_std``; ``"train"``: compute both on
    #: the train split (:func:`selfsup_audio.datasets.features.norm_stats`); ``"none"``.
    norm: str = "fixed"
    norm_mean: float = AUDIOSET_MEAN
    norm_std: float = AUDIOSET_STD
    #: A JSON file written by ``selfsup audio-stats`` (``norm="fixed"`` only): its ``mean`` and
    #: ``std`` replace ``norm_mean``/``norm_std``; its feature settings must match these.
    norm_file: Optional[str] = None
    #: File datasets keep decoded, un-normalised features here (one ``.pt`` per set of files
    #: and feature settings), so a second run skips decoding; ``None``: in memory only.
    cache_dir: Optional[str] = None


@dataclass
class FSDDConfig(FeatureConfig):
    """Free Spoken Digit Dataset: ``root/recordings/{digit}_{speaker}_{index}.wav`` (8 kHz int16).

    ``split="official"``: recordings with index 0-4 are the test split, 5-49 train.
    ``split="speaker"``: every clip of ``held_out_speaker`` is the test split.
    A seeded, digit-stratified ``val_fraction`` of the train clips is the validation split.
    """

    #: Folder holding ``recordings/`` (or the recordings themselves); required.
    root: Optional[str] = None
    #: ``"official"`` or ``"speaker"``.
    split: str = "official"
    held_out_speaker: str = "theo"
    val_fraction: float = 0.1
    split_seed: int = 0
    #: Keep a seeded subset of at most this many clips (before splitting); ``None`` keeps all.
    max_clips: Optional[int] = None


@dataclass
class AudioFolderConfig(FeatureConfig):
    """A folder of audio files, one sub-folder per class: ``root/<class>/<file>.wav``.

    If ``root/train`` and ``root/test`` exist, they are the splits (each with class
    sub-folders); otherwise a seeded stratified ``test_fraction`` is held out.
    With ``labels_csv``, labels come from a CSV instead (columns ``file``, paths relative to
    ``root``, and ``label``; an optional ``split`` column of ``train``/``val``/``test`` fixes the splits).
    Unreadable files are skipped with a warning and counted in ``info["skipped"]``.
    """

    root: Optional[str] = None
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    split_seed: int = 0
    #: File extensions read from class sub-folders (FLAC through ``soundfile``).
    extensions: str = ".wav,.flac"
    #: A CSV of ``file,label[,split]`` rows (relative to ``root`` unless absolute); ``None``: sub-folders.
    labels_csv: Optional[str] = None


@dataclass
class ESC50Config(FeatureConfig):
    """ESC-50 (Piczak 2015): ``root/meta/esc50.csv`` (``filename,fold,target,category,esc10,...``)
    and ``root/audio/*.wav`` (5 s, 44.1 kHz mono), resampled to 16 kHz.

    ``fold`` is the test split; the validation split is ``val_fold`` when given, otherwise a
    seeded class-stratified ``val_fraction`` of the other folds. 512 frames (5.12 s) as in
    SSAST's ESC-50 recipe (``src/finetune/esc50/run_esc_patch.sh``: ``target_length=512``).
    """

    target_length: int = 512
    root: Optional[str] = None
    #: Test fold, 1-5 (the five-fold protocol runs fold=1..5 and averages).
    fold: int = 1
    val_fold: Optional[int] = None
    val_fraction: float = 0.1
    split_seed: int = 0
    #: Keep only the ESC-10 subset (the CSV's ``esc10`` column; 10 classes).
    esc10: bool = False


@dataclass
class SpeechCommandsConfig(FeatureConfig):
    """Speech Commands v2 (Warden 2018): ``root/<word>/<speaker>_nohash_<n>.wav`` (1 s, 16 kHz),
    ``root/validation_list.txt`` and ``root/testing_list.txt`` name the val and test clips;
    every other clip is train. ``_background_noise_`` is not a class. 128 frames as in SSAST's
    recipe (``src/finetune/speechcommands_v2_35/run_sc.sh``: ``target_length=128``).
    """

    root: Optional[str] = None
    #: Keep a seeded subset of at most this many clips (before splitting); ``None`` keeps all.
    max_clips: Optional[int] = None
    split_seed: int = 0


@dataclass
class SyntheticSoundsConfig(FeatureConfig):
    """Generated clips of several sound classes; needs no files (``selfsup_audio.datasets.synthetic``).

    ``preset="contours"``: four pairs of pitch/loudness contours, each class the time reversal of
    its pair (order-blind fbank statistics cannot separate a pair); ``"tones"``: the earlier
    tones, chirps, noise bursts, harmonics, AM tones and clicks.
    """

    #: ``"contours"`` (default) or ``"tones"`` (the default before 2026-12-08).
    preset: str = "contours"
    #: 64 mel bins × 96 frames (the 1 s clip's 98 frames, cut): a 4×6 grid of 16×16 patches, 24
    #: tokens instead of the 128×128 input's 64, so a default run costs about a third as much
    #: (before 2026-12-08: the SSAST defaults, 128 × 128).
    num_mel_bins: int = 64
    target_length: int = 96
    #: Clips per class in the train, validation and test splits.
    train_per_class: int = 80
    val_per_class: int = 10
    test_per_class: int = 30
    #: Number of classes, at most 8 (the first of the preset's, ``selfsup_audio.datasets.synthetic.PRESETS``).
    num_classes: int = 8
    #: Clip duration in seconds.
    duration: float = 1.0
    #: Background white-noise amplitude (the signal peaks near 0.5).
    noise: float = 0.02
    seed: int = 0
    #: Ignored (the data is generated); accepted for uniform ``data.root=`` overrides.
    root: Optional[str] = None


#: Model sizes: (embed_dim, depth, num_heads). tiny/small/base are SSAST's DeiT backbones
#: (``src/models/ast_models.py``: vit_deit_{tiny,small}_distilled_patch16_224,
#: vit_deit_base_distilled_patch16_384); ``cpu`` is a small default for CPU runs.
AST_SIZES = {
    "cpu": (128, 4, 4),
    "tiny": (192, 12, 3),
    "small": (384, 12, 6),
    "base": (768, 12, 12),
}


@dataclass
class ASTConfig:
    """The AST / DeiT-style ViT encoder of SSAST (``src/models/ast_models.py``, ``ASTModel``).

    ``size`` picks (embed_dim, depth, heads); the three ``Optional`` fields override it.
    ``tokens="patch"``: 16×16 patches; ``"frame"``: 128×2 patches (full frequency, 2 frames),
    i.e. ``fshape = num_mel_bins``.
    """

    size: str = "cpu"
    embed_dim: Optional[int] = None
    depth: Optional[int] = None
    num_heads: Optional[int] = None
    #: ``"patch"`` (16×16) or ``"frame"`` (num_mel_bins × 2).
    tokens: str = "patch"
    #: Patch (frequency, time) size; ``None`` follows ``tokens``.
    fshape: Optional[int] = None
    tshape: Optional[int] = None
    #: 2 (DeiT distilled: cls + dist, as in SSAST) or 1.
    num_cls_tokens: int = 2
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    #: ``"fused"``: ``scaled_dot_product_attention`` (the same math, no N×N matrix kept);
    #: ``"materialised"``: softmax(QKᵀ/√d)·V with the N×N matrix, as timm 0.4.5 (the paper's
    #: memory comparison, benchmarks/audio.md).
    attention: str = "fused"
    #: The pooled representation: ``"mean"`` over patch tokens (SSAST ft_avgtok) or ``"cls"``
    #: (the mean of the CLS outputs, SSAST ft_cls).
    pool: str = "mean"


@dataclass
class SSASTConfig:
    """Joint discriminative + generative masked patch modelling (SSAST).

    Defaults: ``src/pretrain/run_mask_patch.sh`` (``mask_patch=400`` of 512, ``cluster_factor=3``
    i.e. C ∈ {3, 4, 5}); ``src/traintest_mask.py`` (``loss = acc_loss + 10 * mse_loss`` from two
    separate forward passes with their own masks).
    """

    #: N_m, masked patches per clip; ``None``: ``round(mask_ratio * N)``.
    num_masked: Optional[int] = None
    #: 400/512 as in the main SSAST models.
    mask_ratio: float = 0.78125
    #: Cluster masking (patch tokens); ``None``: on for patch tokens, off for frame tokens
    #: (as ``traintest_mask.py`` switches it by ``fshape == num_mel_bins``).
    cluster: Optional[bool] = None
    #: Cluster factor C is drawn uniformly from {min..max} per clip.
    min_cluster: int = 3
    max_cluster: int = 5
    #: ``"joint"`` (L_d + λ L_g), ``"discriminative"`` or ``"generative"``.
    task: str = "joint"
    #: λ, the weight of the generative MSE (10 in SSAST).
    lambda_gen: float = 10.0
    #: ``"code"`` (softmax over predictions, the released code) or ``"paper"`` (over targets, eq. 1).
    nce_variant: str = "code"
    #: Draw separate masks (and run separate forward passes) for the two tasks, as released.
    independent_masks: bool = True


#: SSAMBA's encoder sizes: (embed_dim, depth) (Shams et al., SLT 2024, arXiv 2405.11831, §3 /
#: SiavashShams/ssamba ``src/pretrain/run_mask_patch_amba.sh``: tiny 192, small 384, base 768,
#: 24 Vim blocks = 12 forward/backward pairs each); ``cpu`` is a small default for CPU runs.
AMBA_SIZES = {
    "cpu": (128, 4),
    "tiny": (192, 24),
    "small": (384, 24),
    "base": (768, 24),
}


@dataclass
class AMBAConfig:
    """The bidirectional Mamba (Vision Mamba, "v2") encoder of SSAMBA (SiavashShams/ssamba
    ``src/models/both_models.py`` ``AMBAModel``, over hustvl/Vim ``VisionMamba``).

    Tokenisation as :class:`ASTConfig` (16×16 patches or num_mel_bins×2 frames, frequency-major);
    one CLS token first, learnable absolute positions. Block and mixer defaults are the released
    pretraining script's (``run_mask_patch_amba.sh``) and Mamba's (d_state 16, d_conv 4, expand 2).
    """

    size: str = "cpu"
    embed_dim: Optional[int] = None
    #: Number of Vim blocks (even: blocks 2k and 2k+1 form a forward/backward pair).
    depth: Optional[int] = None
    tokens: str = "patch"
    fshape: Optional[int] = None
    tshape: Optional[int] = None
    #: Mamba state size N, local convolution width and inner expansion (Mamba defaults).
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    #: ``"layernorm"`` (the released SSAMBA script: ``rms_norm='false'``) or ``"rmsnorm"`` (Vim's default).
    norm: str = "layernorm"
    norm_eps: float = 1e-5
    #: Stochastic depth, linearly increasing to this rate over the blocks (released script: 0.1).
    drop_path_rate: float = 0.1
    #: ``"mean"`` over patch tokens (SSAMBA ft_avgtok) or ``"cls"`` (the CLS output, ft_cls).
    pool: str = "mean"
    #: Initial Δ bias of the backward branch: ``"zero"`` (Vim v2 as released: ``dt_proj_b.bias`` is
    #: zeroed by Vim's ``_init_weights``, Δ starts at softplus(0) ≈ 0.69) or ``"mamba"`` (the forward
    #: branch's softplus⁻¹(log-uniform [1e-3, 0.1]) init; a deliberate deviation).
    backward_delta_bias: str = "zero"
    #: Selective-scan implementation: ``"auto"`` (mamba-ssm's CUDA kernel when it imports and the
    #: model is on a GPU; on the CPU the fused C kernel when a C compiler is available; else the
    #: chunked PyTorch scan), ``"cpu-kernel"``, ``"chunked"``, ``"reference"`` or ``"mamba-ssm"``.
    scan: str = "auto"
    #: Steps per chunk of the chunked scan (shrunk automatically when the decays are steep).
    scan_chunk: int = 64


@dataclass
class SSAMBAConfig(SSASTConfig):
    """SSAST's objective on the Mamba encoder (SSAMBA, Shams et al., SLT 2024).

    The released pretraining script masks ``mask_patch=300`` of 512 patches (checkpoints exist
    for 250/300/400); everything else is :class:`SSASTConfig`'s.
    """

    #: 300/512 as in ``src/pretrain/run_mask_patch_amba.sh``.
    mask_ratio: float = 0.5859375
