"""Config dataclasses of the joint-embedding objectives (torch-free).

Defaults are the papers' official settings (cited per class); the view keys are shared:

* ``views``: a preset of :mod:`selfsup_vision.views.policies` (``simclr``, ``byol``, ``dino``, ``swav``, ``g-simclr``, ``obow``);
* ``local_crops`` / ``local_scale`` / ``local_size`` / ``global_scale``: override the preset's crops
  (``null`` keeps the preset's); sizes are relative to the image side;
* ``blur``: Gaussian blur in the policies; ``null``: on for images of 64 px or more (SimCLR's
  CIFAR recipe turns it off at 32 px);
* ``view_transform=bss``: Batch Styles Standardization of every view batch (``bss_ratio``,
  ``bss_strength``), usable with any of these objectives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

__all__ = ["ViewsConfig", "SimCLRConfig", "GSimCLRConfig", "BYOLConfig", "MYOWConfig", "OBoWConfig", "DINOConfig", "MugsConfig", "SiTConfig", "SwAVConfig", "SEERConfig", "CIFAR10JPGConfig", "ImageStreamConfig"]


@dataclass
class ViewsConfig:
    #: View preset: ``simclr``, ``byol``, ``dino``, ``swav``, ``g-simclr`` or ``obow``.
    views: str = "simclr"
    #: Number of local (small) crops; ``null``: the preset's.
    local_crops: Optional[int] = None
    #: Area range of the global crops; ``null``: the preset's.
    global_scale: Optional[list[float]] = None
    #: Area range of the local crops; ``null``: the preset's.
    local_scale: Optional[list[float]] = None
    #: Side of the local crops relative to the image side (DINO: 96/224); ``null``: the preset's.
    local_size: Optional[float] = None
    #: Gaussian blur in the view policies; ``null``: on for images of at least 64 px.
    blur: Optional[bool] = None
    #: A transform of each whole view batch: ``null`` or ``bss`` (Batch Styles Standardization).
    view_transform: Optional[str] = None
    #: BSS: share of each frequency axis whose amplitude is standardised (the low-frequency band).
    bss_ratio: float = 0.1
    #: BSS: strength λ of the transfer of the reference's amplitude (1: replaced).
    bss_strength: float = 1.0


@dataclass
class SimCLRConfig(ViewsConfig):
    """``simclr`` (``google-research/simclr:tf2/run.py``, README's CIFAR-10 command): temperature
    0.5, a 3-layer projection head with BN (``num_proj_layers=3``, ``proj_out_dim=128``, hidden =
    the backbone width); LARS lr 1.0 per 256 images, weight decay 1e-4 (the trainer defaults)."""

    #: NT-Xent temperature τ (CIFAR 0.5; ImageNet 0.1).
    temperature: float = 0.5
    #: Projection MLP hidden width; ``null``: the backbone's ``embed_dim``.
    proj_hidden_dim: Optional[int] = None
    #: Projection output width.
    proj_dim: int = 128
    #: Linear layers in the projection MLP.
    proj_layers: int = 3


@dataclass
class GSimCLRConfig(ViewsConfig):
    """``g-simclr`` (``ariG23498/G-SimCLR``, CIFAR-10 notebooks; arXiv 2009.12007): SimCLR whose
    batches hold at most one image of each cluster of a denoising autoencoder's features.
    ``CIFAR10/Autoencoder.ipynb``: the autoencoder (σ = 0.01 input noise, Adam lr 1e-3, MSE,
    batch 64); ``SimCLR_Pseudo_Labels_Training.ipynb``: k-means with K = the batch size
    (``random_state`` 0 there, the run's seed here; scikit-learn's 2020 default of 10
    initialisations), NT-Xent at τ = 0.1, projection head 256 → 128 → 50 (Dense-ReLU, no
    BatchNorm), the ``g-simclr`` view preset (no crop, mild jitter), SGD lr 0.1, batch 64."""

    views: str = "g-simclr"
    #: NT-Xent temperature τ.
    temperature: float = 0.1
    #: Widths of the projection head's Linear layers (ReLU between them, none after the last).
    proj_widths: list[int] = field(default_factory=lambda: [256, 128, 50])
    #: Autoencoder: std of the Gaussian noise added to its [0, 1] inputs while it trains.
    dae_noise: float = 0.01
    #: Autoencoder: epochs over the train split (the notebook: up to 100 with early stopping,
    #: patience 2, on the *test* images' loss; a fixed budget here, so no test image is used).
    dae_epochs: int = 10
    #: Autoencoder: Adam learning rate (Keras' default).
    dae_lr: float = 1e-3
    #: Autoencoder: batch size.
    dae_batch_size: int = 64
    #: k-means initialisations (k-means++ each; the best inertia is kept).
    kmeans_n_init: int = 10


@dataclass
class BYOLConfig(ViewsConfig):
    """``byol`` (``deepmind-research:byol/configs/byol.py``): projector and predictor MLPs
    4096 → 256, EMA target with cosine momentum 0.996 → 1; LARS lr 0.2 per 256, wd 1.5e-6."""

    views: str = "byol"
    #: Hidden width of the projector and predictor MLPs.
    hidden_dim: int = 4096
    #: Output width of the projector and predictor.
    proj_dim: int = 256
    #: EMA momentum at the first step (cosine schedule to ``momentum_final``).
    momentum_base: float = 0.996
    #: EMA momentum at the last step.
    momentum_final: float = 1.0


@dataclass
class MYOWConfig(BYOLConfig):
    """``myow`` (``nerdslab/myow:scripts/cifar-train.py`` and ``docs/cifar.md``, the CIFAR-10 recipe):
    BYOL's projector and predictor (4096 → 256) plus the cascaded mined-view heads (projector_m and
    predictor_m, 1024 → 64), EMA momentum 0.98 → 1 (cosine); BYOL views: crop scale (0.2, 1), flip,
    jitter (0.4, 0.4, 0.4, 0.1) p 0.8, grey p 0.2 (the ``simclr`` preset at that scale); mining
    views: crop scale (0.8, 1) and flip only; k = 1; the mined loss off for the first 100 of 800
    epochs, ramped linearly to weight 1 at epoch 110; SGD lr 2.0 per 256 images, wd 5e-5, 30
    warm-up epochs. The candidate pool is the step's batch (every rank's), each anchor's own image
    excluded (see :mod:`selfsup_vision.objectives.myow`)."""

    views: str = "simclr"
    #: Area range of the two BYOL views (official ``RandomResizedCrop(32, scale=(0.2, 1.0))``).
    global_scale: Optional[list[float]] = field(default_factory=lambda: [0.2, 1.0])
    #: EMA momentum at the first step (the CIFAR command's ``--mm 0.98``).
    momentum_base: float = 0.98
    #: Hidden width of the mined-view projector and predictor (``projection_hidden_size_2``).
    mined_hidden_dim: int = 1024
    #: Output width of the mined-view projector and predictor (``projection_size_2``).
    mined_proj_dim: int = 64
    #: Neighbours among which the mined view is drawn (``view_miner_k``; 1 for CIFAR).
    mined_k: int = 1
    #: Area range of the light crops of the anchors and the pool (``transform_m``: scale (0.8, 1), flip).
    mined_scale: list[float] = field(default_factory=lambda: [0.8, 1.0])
    #: Fraction of the run's steps before the mined loss starts (official: 100 of 800 epochs).
    mined_warmup: float = 0.125
    #: Fraction of the run's steps at which the mined-loss weight reaches ``mined_max_weight`` (110 of 800).
    mined_rampup_end: float = 0.1375
    #: Weight of the mined loss after the ramp (``myow_max_weight``).
    mined_max_weight: float = 1.0


@dataclass
class OBoWConfig(ViewsConfig):
    """``obow`` (``valeoai/obow:config/ImageNet20/ResNet18_OBoW_full.yaml``, the ResNet-18 setting):
    BoW targets on ``block3`` and ``block4`` (ResNet ``layer3``/``layer4``), K = 8192 words per
    level, inverse temperature δ = 10 (``inv_delta``), κ = 5, teacher momentum 0.99 → 1 (cosine,
    per step), μ decay 0.99 (``BoWExtractor._decay``); student crops: the ``obow`` view preset (2
    crops of 160/224 of the side, scale (0.08, 0.6), blur p 0.5; 5 patches of 96/224, see
    :mod:`selfsup_vision.views.policies`); SGD lr 0.05, momentum 0.9, wd 5e-4, batch 128 (the
    trainer defaults). ``num_words`` must be a multiple of the global batch."""

    views: str = "obow"
    #: Teacher feature levels whose BoW the student predicts: ``block3`` and/or ``block4``.
    bow_levels: list[str] = field(default_factory=lambda: ["block3", "block4"])
    #: Visual words per level (K; ResNet-18 and ResNet-50: 8192).
    num_words: int = 8192
    #: Base inverse temperature δ of the soft assignment (ResNet-18 10, ResNet-50 15).
    inv_delta: float = 10.0
    #: Scale κ of the student's logits (ResNet-18 5, ResNet-50 8).
    kappa: float = 5.0
    #: Decay of the EMA μ of the mean per-location minimum distance.
    mu_decay: float = 0.99
    #: Teacher EMA momentum at the first step (cosine schedule to ``momentum_final``).
    momentum_base: float = 0.99
    #: Teacher EMA momentum at the last step.
    momentum_final: float = 1.0
    #: Drop the teacher maps' 1-pixel border (official: always); ``null``: on maps of at least
    #: 5 px a side (so 3×3 locations remain), off on smaller ones (16-32 px images).
    drop_border: Optional[bool] = None


@dataclass
class DINOConfig(ViewsConfig):
    """``dino`` (``facebookresearch/dino:main_dino.py`` defaults, ViT-S/16): DINO head out_dim 65536,
    hidden 2048, bottleneck 256, weight-normalised last layer with g fixed; student temperature 0.1,
    teacher 0.04 (linear warm-up from ``warmup_teacher_temp``), centre momentum 0.9, teacher
    momentum 0.996 → 1 (cosine), last layer frozen for the first ``freeze_last_layer_steps``;
    AdamW lr 5e-4 per 256, weight decay 0.04, gradient clipping 3.0."""

    views: str = "dino"
    #: Prototypes (the head's output width).
    out_dim: int = 65536
    #: Hidden width of the head's MLP.
    hidden_dim: int = 2048
    #: Bottleneck width before the weight-normalised prototypes.
    bottleneck_dim: int = 256
    #: BatchNorm in the head's MLP (official: false for ViTs, true for ResNets).
    use_bn_in_head: bool = False
    #: Fix the prototypes' weight-norm gain to 1.
    norm_last_layer: bool = True
    #: Student softmax temperature.
    student_temp: float = 0.1
    #: Teacher temperature after the warm-up.
    teacher_temp: float = 0.04
    #: Teacher temperature at step 1.
    warmup_teacher_temp: float = 0.04
    #: Steps of the linear teacher-temperature warm-up (official: 0 epochs by default, 30 for larger temperatures).
    warmup_teacher_temp_steps: int = 0
    #: Centre EMA momentum.
    center_momentum: float = 0.9
    #: Teacher EMA momentum at the first step (cosine to 1).
    momentum_teacher: float = 0.996
    #: Steps during which the prototypes get no gradient (official: 1 epoch).
    freeze_last_layer_steps: int = 0


@dataclass
class SiTConfig(ViewsConfig):
    """``sit`` (``Sara-Ahmed/SiT@7f22e9c:main.py`` defaults, the GMML version): two DINO-style global
    crops with scale (0.2, 1) and no local crops; GMML corruption of ``drop_perc`` 0.5 of each view
    (zeros, ``drop_align`` 1) and the collate-time replacement (``drop_replace`` 0.3, probability ½);
    CLS head 4096-4096-256 (``--out_dim`` 256); contrastive τ 0.2 (``--simclr_temp``); λ 1
    (``--lmbda``); teacher momentum 0.996 → 1 (cosine); AdamW lr 5e-4 per 256, weight decay 0.04,
    gradient clipping 3.0 (the trainer defaults)."""

    views: str = "dino"
    local_crops: Optional[int] = 0
    global_scale: Optional[list[float]] = field(default_factory=lambda: [0.2, 1.0])
    #: Largest share of each image corrupted with zeros (the area is U[min(0.5, p), p]); 0: none.
    drop_perc: float = 0.5
    #: Share of an image re-corrupted with blocks of another image of the batch; 0: no replacement.
    drop_replace: float = 0.3
    #: Block corners and sides are multiples of this many pixels (the patch size aligns to patches).
    drop_align: int = 1
    #: Hidden width of the CLS projection head.
    hidden_dim: int = 4096
    #: Output width of the CLS projection head.
    out_dim: int = 256
    #: Temperature τ of the contrastive term.
    temperature: float = 0.2
    #: Weight λ of the reconstruction loss.
    lmbda: float = 1.0
    #: Teacher EMA momentum at the first step (cosine to 1).
    momentum_teacher: float = 0.996


@dataclass
class MugsConfig(ViewsConfig):
    """``mugs`` (``sail-sg/mugs:main.py`` defaults, ViT-S/16 100 epochs): DINO's weak crops with global
    scale (0.25, 1) and 10 local crops of scale (0.05, 0.25) (``--global_crops_scale``,
    ``--local_crops_number``, ``--local_crops_scale``); loss weights [1, 1, 1]; instance and
    local-group heads 2048 → 256 (predictor 4096, ``norm_before_pred``), queues of 65,536 at
    τ 0.2, top-8 neighbours from a 65,536-row memory; group head 65,536 prototypes, bottleneck 256,
    student τ 0.1, teacher τ 0.04 (no warm-up; 0.07 after 30–50 warm-up epochs in the longer
    recipes); centre momentum 0.9; teacher momentum 0.996 → 1 (cosine); last layer frozen for
    1 epoch; AdamW lr 8e-4 per 256, wd 0.04 (→ 0.2 in the official cosine schedule), clip 3.0."""

    views: str = "dino"
    local_crops: Optional[int] = 10
    global_scale: Optional[list[float]] = field(default_factory=lambda: [0.25, 1.0])
    local_scale: Optional[list[float]] = field(default_factory=lambda: [0.05, 0.25])
    #: Weights of the instance, local-group and group losses: a term is on when its weight is > 0;
    #: the total is the sum of the active terms divided by the sum of the weights (not weighted).
    loss_weights: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    #: Hidden width of the instance / local-group projectors and of the group head's MLP.
    hidden_dim: int = 2048
    #: Hidden width of the student's instance / local-group predictors.
    pred_hidden_dim: int = 4096
    #: BatchNorm in the heads' MLPs (official ``use_bn_in_head``: false).
    use_bn_in_head: bool = False
    #: L2-normalise the projector output before the predictor.
    norm_before_pred: bool = True
    #: Instance head output width, queue length and InfoNCE temperature.
    instance_out_dim: int = 256
    instance_queue_size: int = 65536
    instance_temp: float = 0.2
    #: Local-group head output width, queue length (also the memory's rows), temperature, neighbours.
    local_group_out_dim: int = 256
    local_group_queue_size: int = 65536
    local_group_temp: float = 0.2
    local_group_top_k: int = 8
    #: Group head prototypes and bottleneck.
    group_out_dim: int = 65536
    group_bottleneck_dim: int = 256
    #: Fix the prototypes' weight-norm gain to 1.
    norm_last_layer: bool = True
    #: Group loss student temperature, teacher temperature after the warm-up, at step 1, warm-up steps.
    group_student_temp: float = 0.1
    group_teacher_temp: float = 0.04
    group_warmup_teacher_temp: float = 0.04
    group_warmup_teacher_temp_steps: int = 0
    #: Centre EMA momentum.
    center_momentum: float = 0.9
    #: Teacher EMA momentum at the first step (cosine to 1).
    momentum_teacher: float = 0.996
    #: Steps during which the prototypes get no gradient (official: 1 epoch).
    freeze_last_layer_steps: int = 0


@dataclass
class SwAVConfig(ViewsConfig):
    """``swav`` (``facebookresearch/swav:main_swav.py`` defaults and its 400-epoch ImageNet script):
    projection 2048 → 128, 3000 prototypes, temperature 0.1, Sinkhorn ε 0.05 with 3 iterations,
    codes from crops 0 and 1, prototypes frozen for the first 313 steps; LARS lr 0.6 at batch 256
    (``scripts/swav_200ep_bs256_pretrain.sh``; 4.8 at batch 4096), weight decay 1e-6. ``queue_length``
    (0: no queue; the bs-256 script uses 3840, from epoch 15) is used from ``queue_start_step``. The ``seer`` recipe is this objective on a RegNetY trunk."""

    views: str = "swav"
    #: Hidden width of the projection MLP.
    hidden_dim: int = 2048
    #: Projection output width.
    feat_dim: int = 128
    #: Number of prototypes.
    prototypes: int = 3000
    #: Softmax temperature of the swapped prediction.
    temperature: float = 0.1
    #: Sinkhorn regularisation ε.
    epsilon: float = 0.05
    #: Sinkhorn iterations.
    sinkhorn_iterations: int = 3
    #: Crops whose codes are computed (the global crops).
    crops_for_assign: list[int] = field(default_factory=lambda: [0, 1])
    #: Steps during which the prototypes get no gradient.
    freeze_prototypes_steps: int = 313
    #: Rows of the feature queue per assigned crop (0: none).
    queue_length: int = 0
    #: First step at which the queue may be used.
    queue_start_step: int = 0
    #: BatchNorm in the projection MLP (SEER: ``noBNhead``).
    head_bn: bool = True


@dataclass
class SEERConfig(SwAVConfig):
    """``seer``: SwAV with SEER's recipe (``facebookresearch/vissl:projects/SEER/README.md``,
    the released checkpoints' names): 10 Sinkhorn iterations, 16k prototypes, no BN in the
    head, weight decay 1e-5, on a RegNetY trunk (the objective's default encoder), LARS with a
    cosine schedule. SEER's data setting (one pass over uncurated images) is the dataset's."""

    #: Number of prototypes (``proto16k``).
    prototypes: int = 16000
    #: Sinkhorn iterations (``sinkhorn10``).
    sinkhorn_iterations: int = 10
    #: BatchNorm in the projection MLP (``noBNhead``).
    head_bn: bool = False


from .configs import ImageFolderConfig  # noqa: E402  (torch-free)


@dataclass
class CIFAR10JPGConfig(ImageFolderConfig):
    """``cifar10-jpg``: the CIFAR-10 test images as JPEG files (``root/test/<class>/<NNNN>.jpg``,
    10,000 images), split once into 8,000 train and 2,000 test images with ``split_seed`` 0
    (no validation split): the fixed 8k/2k split of the vision benchmarks."""

    #: No validation split (the k-NN and linear-probe protocols use train and test).
    val_fraction: float = 0.0
    #: 2,000 of the 10,000 images.
    test_fraction: float = 0.2


@dataclass
class ImageStreamConfig:
    """``image-stream``: uncurated images read once per pass, in order, without an index of the
    whole set (SEER's "random, uncurated images, one pass" setting).

    ``root`` holds WebDataset-style tar shards (``*.tar``: members ``<key>.<jpg|png|...>``) or
    folders of image files (each sub-folder, and the root's own files, is one shard). Each pass
    takes the shards in an order shuffled with ``shard_seed`` + pass; under ``torchrun`` and
    with ``trainer.num_workers`` each reader takes every ``readers``-th shard."""

    #: Folder of ``*.tar`` shards or of image folders.
    root: Optional[str] = None
    #: Every image is resized (shorter side) and centre-cropped to this square side.
    image_size: int = 32
    #: 1 (grayscale) or 3 (RGB).
    channels: int = 3
    #: Shuffle the shard order of each pass (items within a shard stay in order).
    shuffle_shards: bool = True
    #: Seed of the shard order (pass ``e`` uses ``shard_seed + e``).
    shard_seed: int = 0
    #: The ``test`` split: the stream's first this many images, decoded once (unlabelled; they are
    #: also trained on). Score a pretrained encoder on labelled data with ``selfsup evaluate``.
    test_images: int = 512

