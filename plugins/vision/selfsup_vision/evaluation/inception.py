"""The FID Inception-v3 feature extractor, loaded from a local weights file (never downloaded).

FID is defined on the 2,048-d pool3 features of TensorFlow's Inception graph of
2015-12-05. pytorch-fid ships those weights converted to PyTorch as
``pt_inception-2015-12-05-6726825d.pth`` (a ``state_dict`` of torchvision's
``inception_v3`` layout with 1,008 classes and no auxiliary head). This module builds
torchvision's ``inception_v3`` architecture and applies the TF graph's differences, as
pytorch-fid's ``src/pytorch_fid/inception.py`` documents them:

* the average-pool branches of Mixed_5b–5d (InceptionA), Mixed_6b–6e (InceptionC) and
  Mixed_7b (InceptionE) exclude the zero padding from the mean (``count_include_pad=False``);
* Mixed_7c's pool branch uses a 3×3 **max** pool;
* inputs in [−1, 1] are resized bilinearly to 299×299; grayscale is repeated to RGB.

torchvision's own ImageNet weights are different weights and give FIDs that are not
comparable with published numbers, so only a user-given file is used.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.errors import ComponentError

__all__ = ["FID_WEIGHTS_NAME", "FID_WEIGHTS_URL", "InceptionWeightsError", "FIDInceptionV3", "default_weights_path", "build_fid_inception"]

FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{FID_WEIGHTS_NAME}"
#: torch.hub's convention: the file name carries the first 8 hex digits of its SHA-256.
FID_WEIGHTS_SHA256_PREFIX = "6726825d"


class InceptionWeightsError(ComponentError):
    """The FID Inception weights file is missing or is not an Inception-v3 ``state_dict``."""


def default_weights_path() -> Path:
    """``$SELFSUP_INCEPTION_WEIGHTS``, else ``~/.cache/selfsup/pt_inception-2015-12-05-6726825d.pth``."""
    given = os.environ.get("SELFSUP_INCEPTION_WEIGHTS")
    return Path(given).expanduser() if given else Path.home() / ".cache" / "selfsup" / FID_WEIGHTS_NAME


def _pool_mean_without_padding(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


def _patch_pool_branch(block: nn.Module, pool: str) -> None:
    """Give a torchvision Inception block the FID graph's pool branch (``"mean"`` or ``"max"``).

    The block keeps its layers (and so its ``state_dict`` keys); only its class changes to
    a subclass whose ``_forward`` pools as the TF graph does.
    """
    block.__class__ = _FID_CLASSES[(type(block).__name__, pool)]


def _fid_forward_a(self: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    b1 = self.branch1x1(x)
    b5 = self.branch5x5_2(self.branch5x5_1(x))
    b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
    return [b1, b5, b3, self.branch_pool(_pool_mean_without_padding(x))]


def _fid_forward_c(self: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    b1 = self.branch1x1(x)
    b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
    d = x
    for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
        d = layer(d)
    return [b1, b7, d, self.branch_pool(_pool_mean_without_padding(x))]


def _fid_forward_e(self: nn.Module, x: torch.Tensor, pooled: torch.Tensor) -> list[torch.Tensor]:
    b1 = self.branch1x1(x)
    b3 = self.branch3x3_1(x)
    b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
    d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
    d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
    return [b1, b3, d, self.branch_pool(pooled)]


def _make_fid_classes() -> dict[tuple[str, str], type]:
    from torchvision.models.inception import InceptionA, InceptionC, InceptionE

    class FIDInceptionA(InceptionA):
        def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
            return _fid_forward_a(self, x)

    class FIDInceptionC(InceptionC):
        def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
            return _fid_forward_c(self, x)

    class FIDInceptionEMean(InceptionE):
        def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
            return _fid_forward_e(self, x, _pool_mean_without_padding(x))

    class FIDInceptionEMax(InceptionE):
        def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
            return _fid_forward_e(self, x, F.max_pool2d(x, kernel_size=3, stride=1, padding=1))

    return {
        ("InceptionA", "mean"): FIDInceptionA,
        ("InceptionC", "mean"): FIDInceptionC,
        ("InceptionE", "mean"): FIDInceptionEMean,
        ("InceptionE", "max"): FIDInceptionEMax,
    }


_FID_CLASSES: dict[tuple[str, str], type] = {}


class FIDInceptionV3(nn.Module):
    """images ``[N, C, H, W]`` in [−1, 1] (C = 1 or 3) -> pool3 features ``[N, 2048]``."""

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models import inception_v3

        if not _FID_CLASSES:
            _FID_CLASSES.update(_make_fid_classes())
        net = inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7b"):
            _patch_pool_branch(getattr(net, name), "mean")
        _patch_pool_branch(net.Mixed_7c, "max")
        self.net = net

    def load_weights(self, path: Path) -> None:
        """Load a pytorch-fid ``state_dict`` (torchvision key names; ``fc`` has 1,008 rows)."""
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as error:  # a torch.load failure has many types
            raise InceptionWeightsError(
                f"{path} could not be read as a PyTorch state_dict ({type(error).__name__}: {error}). "
                f"Place pytorch-fid's {FID_WEIGHTS_NAME} there (from {FID_WEIGHTS_URL})."
            ) from None
        if not isinstance(state, dict):
            raise InceptionWeightsError(f"{path} holds a {type(state).__name__}, not a state_dict. Give {FID_WEIGHTS_NAME}.")
        try:
            self.net.load_state_dict(state)
        except RuntimeError as error:
            raise InceptionWeightsError(
                f"{path} is not an Inception-v3 FID state_dict ({str(error).splitlines()[0]}). "
                f"Give pytorch-fid's {FID_WEIGHTS_NAME} (from {FID_WEIGHTS_URL})."
            ) from None

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        net = self.net
        for layer in (net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, net.maxpool1,
                      net.Conv2d_3b_1x1, net.Conv2d_4a_3x3, net.maxpool2,
                      net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a, net.Mixed_6b, net.Mixed_6c,
                      net.Mixed_6d, net.Mixed_6e, net.Mixed_7a, net.Mixed_7b, net.Mixed_7c):
            x = layer(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_fid_inception(weights: Optional[str]) -> tuple[FIDInceptionV3, str]:
    """The FID extractor (eval mode) and the SHA-256 of its weights file.

    ``weights`` is the user's path; ``None`` looks at :func:`default_weights_path`. A missing
    file raises :class:`InceptionWeightsError` naming the file and where to put it. A file
    whose hash is not pytorch-fid's gives a warning: its FIDs are not comparable with
    published ones.
    """
    path = Path(weights).expanduser() if weights else default_weights_path()
    if not path.is_file():
        raise InceptionWeightsError(
            f"FID needs the Inception-v3 FID weights file {FID_WEIGHTS_NAME} (pytorch-fid's port of TF "
            f"Inception 2015-12-05), and '{path}' does not exist. Download it where there is network access "
            f"({FID_WEIGHTS_URL}), place it at '{path}' (or anywhere) and set "
            "evaluator_config.fid.inception_weights=<that path> (or SELFSUP_INCEPTION_WEIGHTS). "
            "Without it, use the fd-local evaluator."
        )
    model = FIDInceptionV3()
    model.load_weights(path)
    sha = _sha256(path)
    if not sha.startswith(FID_WEIGHTS_SHA256_PREFIX):
        warnings.warn(
            f"{path} (SHA-256 {sha[:12]}…) is not pytorch-fid's {FID_WEIGHTS_NAME}: its FIDs are not comparable "
            "with published numbers.",
            UserWarning,
            stacklevel=2,
        )
    return model.eval(), sha
