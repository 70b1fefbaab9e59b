"""OBoW's online vocabulary and dynamic weight generator (``valeoai/obow:obow/builder_obow.py``,
``BoWExtractor`` and ``BoWPredictor``).

* :class:`BoWVocabulary` — one level's ``K`` visual words ``[K, C]`` as a queue (buffers, so
  checkpoints carry it), initialised as the official ``randn(K, C).clamp(min=0)``, and the EMA
  ``μ`` of the mean minimum distance (initial 0.5). :meth:`BoWVocabulary.sample` picks one random
  location per image of the 3×3-average-pooled (stride 1, no padding) teacher map (the official
  ``local_average`` update; the kernel shrinks to the map's side on maps under 3 px);
  :meth:`BoWVocabulary.push` all-gathers those rows from every rank
  (:func:`~selfsup_vision.heads.queue.gather_rows`, the identity in one process) and writes them
  over the oldest words; the pointer wraps at ``K``, which must be a multiple of the global batch
  (as the official ``assert``).
* :class:`WeightGenerator` — ``w_k = L2norm(Lin(ReLU(BN(Lin(L2norm(v_k))))))``, the first Linear
  without bias, hidden ``2·C_out``, output ``C_out`` (the pooled feature's width).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.errors import ConfigError

from .queue import gather_rows

__all__ = ["BoWVocabulary", "WeightGenerator", "sample_local_words"]


@torch.no_grad()
def sample_local_words(features: torch.Tensor, kernel: int = 3) -> torch.Tensor:
    """``[B, C, H, W]`` → ``[B, C]``: per image one uniformly drawn location of the
    ``kernel``×``kernel`` average-pooled map (``torch.randint``, the official draw)."""
    kernel = min(kernel, features.shape[-2], features.shape[-1])
    pooled = F.avg_pool2d(features, kernel_size=kernel, stride=1, padding=0).flatten(2)
    batch, _, locations = pooled.shape
    index = torch.randint(0, locations, (batch,), device=features.device)
    return pooled[torch.arange(batch, device=features.device), :, index]


class BoWVocabulary(nn.Module):
    def __init__(self, num_words: int, dim: int, decay: float = 0.99) -> None:
        super().__init__()
        if num_words < 1 or dim < 1:
            raise ValueError(f"BoWVocabulary: num_words={num_words}, dim={dim}; both must be >= 1")
        self.decay = decay
        self.register_buffer("words", torch.randn(num_words, dim).clamp(min=0))
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))
        self.register_buffer("mu", torch.full((), 0.5))

    @property
    def num_words(self) -> int:
        return self.words.shape[0]

    @torch.no_grad()
    def push(self, rows: torch.Tensor) -> None:
        """Gather ``rows`` from every rank and overwrite the oldest words with them."""
        rows = gather_rows(rows.detach()).to(self.words.dtype)
        n, k = rows.shape[0], self.num_words
        if k % n:
            raise ConfigError(
                f"objective_config.num_words={k} is not a multiple of the global batch {n} (the queue writes whole "
                f"batches). Use a multiple of trainer.batch_size, e.g. num_words={max(1, k // n) * n}, with trainer.drop_last=true."
            )
        ptr = int(self.pointer)
        self.words[ptr:ptr + n] = rows
        self.pointer.fill_((ptr + n) % k)


class WeightGenerator(nn.Sequential):
    """Visual words ``[K, C_in]`` → unit-norm classifier weights ``[K, C_out]``."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__(
            nn.Linear(in_dim, 2 * out_dim, bias=False),
            nn.BatchNorm1d(2 * out_dim),
            nn.ReLU(inplace=True),
            nn.Linear(2 * out_dim, out_dim),
        )

    def forward(self, words: torch.Tensor) -> torch.Tensor:
        return F.normalize(super().forward(F.normalize(words, dim=1)), dim=1)
