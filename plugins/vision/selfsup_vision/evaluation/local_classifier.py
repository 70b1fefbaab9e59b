"""FD-local's feature extractor: a small CNN classifier trained on the real data's train split.

Two 3×3 conv layers (16 and 32 channels, ReLU, 2×2 max-pool after each), adaptive
average pooling to 4×4, a linear layer to a 64-d ReLU feature, a linear layer to the
classes: about 38k parameters for grayscale input, at any image size. Trained with Adam
(lr 2e-3) and cross-entropy for ``epochs`` passes in seeded mini-batches. Its 64-d penultimate features replace Inception's pool3 for the
Fréchet distance and KID: "FD-local", a CPU-scale trend metric that is never FID
(see ``shared/research/methods-vision.md`` §12.3).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.progress import track

__all__ = ["LocalClassifier", "train_local_classifier"]


class LocalClassifier(nn.Module):
    """images ``[N, C, H, W]`` in [−1, 1] -> logits; :meth:`features` gives the 64-d penultimate layer."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32 * 4 * 4, 64)
        self.head = nn.Linear(64, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        h = F.max_pool2d(F.relu(self.conv1(images)), 2)
        h = F.adaptive_avg_pool2d(F.max_pool2d(F.relu(self.conv2(h)), 2), 4)
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def train_local_classifier(
    images: torch.Tensor, labels: torch.Tensor, *, num_classes: int, epochs: int, batch_size: int, seed: int,
    device: torch.device,
) -> LocalClassifier:
    """Train on float images in [−1, 1] ``[N, C, H, W]`` and int labels ``[N]``; deterministic given ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LocalClassifier(images.shape[1], num_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    order_rng = torch.Generator().manual_seed(seed)
    model.train()
    for _ in track(range(epochs), "evaluate: training the local classifier", unit="epochs"):
        order = torch.randperm(images.shape[0], generator=order_rng)
        for start in range(0, images.shape[0], batch_size):
            index = order[start : start + batch_size]
            x, y = images[index].to(device), labels[index].to(device)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model.eval()
