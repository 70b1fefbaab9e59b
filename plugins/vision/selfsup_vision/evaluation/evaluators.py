"""``fd-local`` and ``fid``: Fréchet distance and KID between generated and real images.

The encoder is the discriminator trunk; the GAN objective attaches its EMA generator as
``encoder.generator_sampler`` (see :mod:`selfsup_vision.objectives.gan`). An encoder
without one (the run's random-init twin, or a trunk loaded with ``load_encoder``) is
scored with a freshly initialised generator of the default architecture (dim_z 128, the
trunk's width, class-conditional on labelled data), seeded with the run's seed: the
untrained floor that training has to beat.

Protocol (as ``liang-hou/augself-gan:augself-biggan/inception_tf.py``): ``num_samples``
generated images with uniformly drawn classes, quantised to uint8 like the real ones
(floor((x + 1)·127.5 + 0.5)), against up to ``num_samples`` real images of ``split``
(the test split by default, as the paper's CIFAR reference statistics); features from
the extractor; Fréchet distance and KID. Both evaluators also report the same distance
between the real train images and the real reference images (``*_real``), the floor that
sample noise and the train/test gap alone give at this N.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

import torch
from torch import nn

from selfsup.errors import ComponentError, DatasetError
from selfsup.interfaces import DataSource, Evaluator
from selfsup.progress import track

from ..configs import FDLocalConfig, FIDConfig
from .distances import frechet_distance_of_features, kernel_distance

__all__ = ["FDLocal", "FID", "generated_images", "quantise"]


def quantise(images: torch.Tensor) -> torch.Tensor:
    """[−1, 1] floats -> the nearest of the 256 uint8 levels, back in [−1, 1]."""
    levels = torch.floor((images.clamp(-1.0, 1.0) + 1.0) * 127.5 + 0.5)
    return levels / 127.5 - 1.0


def _split_images(data: DataSource, split: str) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    if split not in data.splits:
        raise DatasetError(f"The dataset has no '{split}' split (it has {data.splits}). Set evaluator_config.<name>.split.")
    dataset = data.split(split)
    if not hasattr(dataset, "images"):
        raise ComponentError(f"{type(data).__name__} is not an image dataset of the vision plugin. Use a vision dataset.")
    images = dataset.images.float().div(127.5).sub(1.0)
    return images, getattr(dataset, "labels", None)


def _subset(images: torch.Tensor, count: int, seed: int) -> torch.Tensor:
    if images.shape[0] <= count:
        return images
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed))
    return images[order[:count].sort().values]


def generated_images(encoder: nn.Module, data: DataSource, count: int, *, seed: int, device: torch.device) -> torch.Tensor:
    """``count`` quantised samples from the encoder's generator, or from an untrained default one."""
    sampler = getattr(encoder, "generator_sampler", None)
    if sampler is None:
        from ..networks.biggan import Generator
        from ..objectives.gan import GeneratorSampler

        info = data.info
        num_classes = info.get("num_classes")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            generator = Generator(image_size=int(info["image_size"]), image_channels=int(info["channels"]),
                                  channels=int(encoder.embed_dim), dim_z=128, num_classes=num_classes)
        sampler = GeneratorSampler(generator, dim_z=128, num_classes=num_classes)
    return quantise(sampler.sample(count, seed=seed, device=device))


@torch.no_grad()
def _features(extract: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, batch_size: int, device: torch.device) -> torch.Tensor:
    starts = range(0, images.shape[0], batch_size)
    chunks = [extract(images[i : i + batch_size].to(device)).float().cpu() for i in track(starts, "evaluate: image features", unit="batches")]
    return torch.cat(chunks)


class _GenerativeEvaluator(Evaluator):
    """Shared flow: real reference, generated samples, one extractor, FD and KID."""

    prefix: str = ""

    def extractor(self, data: DataSource, device: torch.device, seed: int) -> Callable[[torch.Tensor], torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    def evaluate(self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        config = self.config
        if config.num_samples < 2:
            raise ComponentError(f"evaluator_config.{self.prefix}.num_samples={config.num_samples}: use at least 2, e.g. 2000.")
        reference, _ = _split_images(data, config.split)
        if reference.shape[0] < 2:
            raise DatasetError(f"The '{config.split}' split has {reference.shape[0]} images; FD needs at least 2. Pick another split.")
        reference = _subset(reference, config.num_samples, seed)
        extract = self.extractor(data, device, seed)
        real = _features(extract, reference, config.batch_size, device)
        fake_images = generated_images(encoder, data, reference.shape[0], seed=seed, device=device)
        fake = _features(extract, fake_images, config.batch_size, device)
        kid = {"subsets": config.kid_subsets, "subset_size": config.kid_subset_size, "seed": seed}
        out = {
            self.prefix: frechet_distance_of_features(fake, real),
            f"{self.prefix}_kid": kernel_distance(fake, real, **kid),
        }
        if config.split != "train":
            train_images, _ = _split_images(data, "train")
            train = _features(extract, _subset(train_images, reference.shape[0], seed + 1), config.batch_size, device)
            out[f"{self.prefix}_real"] = frechet_distance_of_features(train, real)
            out[f"{self.prefix}_kid_real"] = kernel_distance(train, real, **kid)
        return out


class FDLocal(_GenerativeEvaluator):
    """``fd-local``: FD and KID on the features of a small classifier trained on the real train split.

    Also reports the classifier's accuracy on the reference split
    (``fd_local_classifier_accuracy``): the extractor's quality, for provenance. The
    classifier is trained once per evaluator (cached for the random-init twin's call).
    """

    config_cls = FDLocalConfig
    prefix = "fd_local"
    hyperparameters = ("fd_local_classifier_accuracy",)
    lower_is_better = ("fd_local", "fd_local_kid", "fd_local_real", "fd_local_kid_real")
    notes = {
        "fd_local": (
            "Frechet distance between generated and real images (lower is better). The random-init column "
            "samples an untrained generator, whose images are far from real ones, so deltas of -100s to "
            "-1000s are normal; compare the pretrained value with fd_local_real, the real-vs-real floor."
        ),
    }

    def __init__(self, config: Optional[FDLocalConfig] = None) -> None:
        super().__init__(config)
        self._cache: dict[Any, tuple[nn.Module, float]] = {}

    def extractor(self, data: DataSource, device: torch.device, seed: int) -> Callable[[torch.Tensor], torch.Tensor]:
        from .local_classifier import train_local_classifier

        key = (id(data), str(device), seed)
        if key not in self._cache:
            images, labels = _split_images(data, "train")
            num_classes = data.info.get("num_classes")
            if labels is None or not num_classes:
                raise DatasetError(
                    "fd-local trains its feature classifier on labels, and this dataset is unlabelled. "
                    "Use a labelled dataset (class folders) or the fid evaluator."
                )
            config = self.config
            model = train_local_classifier(images, labels, num_classes=int(num_classes), epochs=config.classifier_epochs,
                                           batch_size=config.classifier_batch_size, seed=seed, device=device)
            ref_images, ref_labels = _split_images(data, config.split)
            with torch.no_grad():
                logits = torch.cat([model(ref_images[i : i + 512].to(device)).cpu() for i in range(0, ref_images.shape[0], 512)])
            accuracy = float((logits.argmax(1) == ref_labels).float().mean()) if ref_labels is not None else float("nan")
            self._cache = {key: (model, accuracy)}
        model, _ = self._cache[key]
        return model.features  # type: ignore[return-value]

    def evaluate(self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        out = super().evaluate(encoder, data, device=device, seed=seed)
        out["fd_local_classifier_accuracy"] = self._cache[(id(data), str(device), seed)][1]
        return out


class FID(_GenerativeEvaluator):
    """``fid``: FID and KID on Inception-v3 pool3 features, weights from ``inception_weights``."""

    config_cls = FIDConfig
    prefix = "fid"
    lower_is_better = ("fid", "fid_kid", "fid_real", "fid_kid_real")
    notes = {
        "fid": (
            "Frechet Inception distance (lower is better); the random-init column samples an untrained "
            "generator, so large negative deltas are normal. fid_real is the real-vs-real floor."
        ),
    }

    def __init__(self, config: Optional[FIDConfig] = None) -> None:
        super().__init__(config)
        self._model: Optional[nn.Module] = None

    def extractor(self, data: DataSource, device: torch.device, seed: int) -> Callable[[torch.Tensor], torch.Tensor]:
        from .inception import build_fid_inception

        if self._model is None:
            self._model, self.weights_sha256 = build_fid_inception(self.config.inception_weights)
        return self._model.to(device)
