"""``g-simclr``: SimCLR on batches that hold at most one image of each pseudo-label (Chakraborty
et al. 2020, "G-SimCLR: Self-Supervised Contrastive Learning with Guided Projection via
Pseudo Labelling", arXiv 2009.12007; official notebooks ``ariG23498/G-SimCLR``, read at
``CIFAR10/Autoencoder.ipynb`` and ``CIFAR10/SimCLR_Pseudo_Labels/SimCLR_Pseudo_Labels_Training.ipynb``).

Before training (:meth:`GSimCLR.batch_groups`, called once by the trainer, see
:class:`selfsup.engine.sampler.GroupsBatches`):

1. a denoising convolutional autoencoder is trained on the train split's images
   (:func:`~selfsup_vision.networks.dae.fit_denoising_autoencoder`);
2. its average-pooled bottleneck features are clustered by k-means with K = the batch size;
3. the trainer's :class:`~selfsup.engine.sampler.GroupedBatchSampler` then ranks each image
   within its cluster, sorts by rank and cuts consecutive batches, so that a batch never pairs
   two images of one cluster as negatives (with clusters of unequal sizes, the batches where one
   rank ends and the next begins may).

Training is SimCLR's two views and projection head with the notebook's NT-Xent (its
``train_step`` over ``sthalles/SimCLR-tensorflow``'s ``utils/losses.py`` and ``get_negative_mask``):
the **mean** over the 2B anchors of −log softmax of the positive among the 2B − 1 others at
τ = 0.1, which is half of :func:`~..losses.nt_xent.nt_xent` (SimCLR's official sum of the two
directions' means).

**Compared with the official code** (2026-12-08, TensorFlow 2.21 CPU in a scratch folder, not
committed): the notebook's loss block on fixed ``z1, z2`` ``[8, 50]`` (``torch.randn``, seed 1):
4.5303354 official, 4.5303354 here (``0.5 * nt_xent``); the notebook's ``make_autoencoder`` with
this module's weights copied in (conv kernels transposed, BatchNorm γ, β and running statistics
randomised), inference mode on four random 16-px images: outputs agree to 1.2e-7 (the parameter
counts differ by exactly the 896 BatchNorm running statistics Keras counts); the notebook's
pandas reordering of 1,000 random labels in 64 groups: the same rank sequence and the same items
at every rank as :class:`~selfsup.engine.sampler.GroupedBatchSampler` (ties of rank come in
another order, see below).

Deliberate deviations: the autoencoder trains a fixed ``dae_epochs`` on shuffled batches (the
notebook stops early on the test images' loss); the k-means seed is the run's (the notebook's
``random_state=0``); ties of rank are ordered by index (the notebook's pandas quicksort leaves
them in no specified order); one cosine decay over the run (the notebook: ``CosineDecayRestarts``
with 1,000 first-decay steps); the view preset's jitter runs in a random order with a
multiplicative brightness (TensorFlow's fixed order and additive brightness); the backbone is
any registered image backbone (the notebook: a Keras ResNet-38 "ResNet-20"-family CIFAR trunk).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, StepOutput

from ..networks.dae import bottleneck_features, fit_denoising_autoencoder
from ..ssl_configs import GSimCLRConfig
from .simclr import SimCLR

__all__ = ["GSimCLR", "cluster_images"]


def _train_images(data: Any, batch_size: int = 512) -> torch.Tensor:
    """The train split's images ``[N, C, H, W]`` in [0, 1], in index order."""
    loader = torch.utils.data.DataLoader(
        data.split("train"), batch_size=batch_size, shuffle=False, collate_fn=data.collate, num_workers=0,
        generator=torch.Generator().manual_seed(0),  # DataLoader would otherwise draw from the global RNG
    )
    return torch.cat([(batch["x"].float() + 1.0) * 0.5 for batch in loader]).clamp_(0.0, 1.0)


def cluster_images(images: torch.Tensor, clusters: int, config: GSimCLRConfig, seed: int,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """G-SimCLR's pseudo-labels: k-means (``clusters`` centres) of a denoising autoencoder's
    pooled bottleneck features of ``images`` (``[N, C, H, W]`` in [0, 1]); ``[N]`` int64."""
    from sklearn.cluster import KMeans

    if images.shape[0] < clusters:
        raise ConfigError(
            f"g-simclr clusters the train split into trainer.batch_size={clusters} groups, but it has only "
            f"{images.shape[0]} images. Use a trainer.batch_size of at most {images.shape[0]}."
        )
    model = fit_denoising_autoencoder(
        images, noise=config.dae_noise, epochs=config.dae_epochs, lr=config.dae_lr,
        batch_size=config.dae_batch_size, seed=seed, device=device,
    )
    features = bottleneck_features(model, images).double().numpy()
    kmeans = KMeans(n_clusters=clusters, n_init=config.kmeans_n_init, random_state=seed).fit(features)
    return torch.from_numpy(kmeans.labels_.astype("int64"))


class GSimCLR(SimCLR):
    method = "g-simclr"

    def __init__(self, config: GSimCLRConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        if not config.proj_widths or min(config.proj_widths) < 1:
            raise ConfigError(f"objective_config.proj_widths={config.proj_widths} needs positive widths. Use [256, 128, 50].")
        if min(config.dae_epochs, config.dae_batch_size, config.kmeans_n_init) < 1 or config.dae_lr <= 0 or config.dae_noise < 0:
            raise ConfigError(
                "objective_config.dae_epochs, dae_batch_size and kmeans_n_init must be >= 1, dae_lr > 0 and "
                "dae_noise >= 0. Use the defaults: 10, 64, 10, 1e-3 and 0.01."
            )
        super().__init__(config, encoder, data_info)  # type: ignore[arg-type]
        #: The pseudo-label of each train image, once :meth:`batch_groups` has run.
        self.pseudo_labels: torch.Tensor | None = None

    def build_projector(self, width: int) -> nn.Module:
        """The notebook's ``get_resnet_simclr_deeper``: Dense-ReLU layers, the last Dense alone."""
        layers: list[nn.Module] = []
        for out in self.config.proj_widths:
            layers += [nn.Linear(width, out), nn.ReLU()]
            width = out
        return nn.Sequential(*layers[:-1])

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        """SimCLR's step at the notebook's scale: the mean over the 2B anchors (half of ``nt_xent``)."""
        return {"loss": 0.5 * super().training_step(batch, step=step, phase=phase)["loss"]}

    def batch_groups(self, data: Any, batch_size: int) -> torch.Tensor:
        device = next(self.parameters()).device
        seed = torch.initial_seed()  # the run's seed: pretrain seeds torch with it, the same on every rank
        self.pseudo_labels = cluster_images(_train_images(data), batch_size, self.config, seed, device)
        return self.pseudo_labels
