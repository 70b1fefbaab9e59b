"""The frozen 2-D teacher of GaussianCross's feature distillation.

The paper distils RADIOv2.5, which is not available offline; any local image encoder
mapping ``[B, 3, H, W]`` images in 0..1 to ``[B, C, h, w]`` feature maps can stand in:

* ``"resnet18"``: torchvision's ResNet-18 stem and first ``stages`` residual stages
  (ImageNet normalisation inside), weights from a local ``weights`` state-dict file or the
  seeded random initialisation;
* ``"package.module:factory"``: ``factory()`` returns such a module (e.g. a network
  pretrained with selfsup-vision); ``weights`` is loaded into it when given. The path must
  be on the user's allow-list (``SELFSUP_ALLOWED_FACTORIES``, :mod:`selfsup.factories`):
  a config alone never imports or calls arbitrary code.

The teacher is put in eval mode with ``requires_grad=False``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from selfsup.errors import ConfigError, MissingDependencyError
from selfsup.factories import config_factory

__all__ = ["ResNetTrunk", "build_teacher"]

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class ResNetTrunk(nn.Module):
    """ResNet-18's stem and first ``stages`` stages; output stride 4 · 2^(stages-1)."""

    def __init__(self, stages: int = 1) -> None:
        super().__init__()
        try:
            from torchvision.models import resnet18
        except ImportError as exc:  # pragma: no cover - torchvision is a core dependency here
            raise MissingDependencyError("teacher 'resnet18' needs torchvision: pip install torchvision.") from exc
        if not 1 <= stages <= 4:
            raise ConfigError(f"objective_config.teacher_stages={stages} must be in 1..4 for resnet18.")
        self.net = resnet18(weights=None)  # torchvision's key names, so its state dicts load
        del self.net.fc
        for unused in range(stages + 1, 5):
            delattr(self.net, f"layer{unused}")
        self.stages = stages
        self.out_channels = (64, 128, 256, 512)[stages - 1]
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        net = self.net
        x = net.maxpool(net.relu(net.bn1(net.conv1((images - self.mean) / self.std))))
        for index in range(1, self.stages + 1):
            x = getattr(net, f"layer{index}")(x)
        return x


def build_teacher(name: str, weights: str | None = None, stages: int = 1) -> nn.Module:
    """The frozen teacher named by ``objective_config.teacher`` (see the module docstring)."""
    if name == "none":
        raise ConfigError(
            "objective_config.teacher='none' builds no teacher. Set objective_config.feature_weight=0 to turn "
            "distillation off, or use teacher=resnet18."
        )
    factory = config_factory(name, key="objective_config.teacher", builtin={"resnet18": lambda: ResNetTrunk(stages)})
    teacher = factory()
    if not isinstance(teacher, nn.Module):
        raise ConfigError(f"objective_config.teacher={name!r} returned {type(teacher).__name__}, not a torch Module.")
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise ConfigError(f"objective_config.teacher_weights={weights!r} is not a file. Give a local state-dict path.")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)  # tensors and containers only, no code
        except Exception as exc:  # an unpickling failure has many types; each means "not a plain state dict"
            first_line = (str(exc).strip().splitlines() or [""])[0]
            raise ConfigError(
                f"objective_config.teacher_weights={weights!r} cannot be loaded safely as a state dict "
                f"({type(exc).__name__}: {first_line}). Save the teacher with torch.save(model.state_dict(), path)."
            ) from exc
        if not isinstance(state, dict):
            raise ConfigError(
                f"objective_config.teacher_weights={weights!r} holds a {type(state).__name__}, not a state dict. "
                "Save the teacher with torch.save(model.state_dict(), path)."
            )
        if "state_dict" in state:
            state = state["state_dict"]
        target = teacher.net if isinstance(teacher, ResNetTrunk) else teacher
        missing, _ = target.load_state_dict(state, strict=False)
        loaded = len(target.state_dict()) - len(missing)
        if loaded == 0:
            raise ConfigError(
                f"objective_config.teacher_weights={weights!r} matched none of the teacher's parameters. "
                "Save the encoder's state_dict (torchvision key names for resnet18)."
            )
    teacher.eval()
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)
    return teacher
