"""OBoW's teacher targets and student loss (Gidaris et al., CVPR 2021), as ``valeoai/obow``
computes them (``obow/builder_obow.py``: ``BoWExtractor.forward``, ``BoWPredictor.forward``,
``OBoW._bow_loss``, ``expand_target``, ``compute_bow_perplexity``).

Per BoW level ``l`` (a teacher feature map ``F`` of ``[B, C, H, W]`` and a vocabulary
``V = (v_1 .. v_K)`` of ``[K, C]``):

* **border**: ``F ← F[:, :, b:-b, b:-b]`` (official ``b = 1``);
* **squared distances** (:func:`squared_distances`, the official expansion
  ``‖F(u)‖² + ‖v_k‖² − 2⟨F(u), v_k⟩``): ``d[i, k, u]``;
* **μ** (:func:`update_min_distance_mean`): ``μ ← ρ·μ + (1 − ρ)·mean_{i,u} min_k d[i, k, u]``,
  ``ρ = 0.99``, updated *before* the codes of the same step are computed (as the official code);
* **target** (:func:`bow_target`): ``a[i, k, u] = softmax_k(−(δ/μ)·d[i, k, u])``,
  ``y[i, k] = max_u a[i, k, u] / Σ_k' max_u a[i, k', u]`` (L1-normalised max-pooled codes);
* **student logits** (:func:`bow_logits`): ``z[j, k] = κ·⟨f_j, w_k⟩`` with ``f_j`` the crop's
  pooled (not normalised) feature and ``w_k`` the generated, unit-norm word weight;
* **loss** (:func:`obow_loss`): for each crop type ``c`` (the 2 large crops; the patches) the
  mean over levels of ``KL(y ‖ softmax(z))`` with ``batchmean`` reduction over all that type's
  crops (each crop matched with its own image's target), **summed** over crop types:
  ``L = Σ_c mean_l (1/(B·n_c)) Σ_j Σ_k y[i(j), k]·(log y[i(j), k] − log softmax(z_j)_k)``.

The perplexity (:func:`bow_perplexity`) is the official monitoring quantity:
``exp(−Σ_k p_k log(p_k + 1e-5))`` per image (averaged) and of the batch's summed BoW.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "drop_border",
    "squared_distances",
    "min_distance_mean",
    "update_min_distance_mean",
    "bow_target",
    "bow_logits",
    "bow_kl",
    "obow_loss",
    "bow_perplexity",
]


def drop_border(features: torch.Tensor, border: int = 1) -> torch.Tensor:
    """``features[:, :, b:-b, b:-b]`` (``b = 0``: unchanged)."""
    if border == 0:
        return features
    return features[:, :, border:-border, border:-border]


def squared_distances(features: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W]`` × ``[K, C]`` → ``[B, K, H, W]``: ``‖F(u)‖² + ‖v_k‖² − 2⟨F(u), v_k⟩``."""
    cross = torch.einsum("bchw,kc->bkhw", features, words)
    return features.pow(2).sum(1, keepdim=True) + words.pow(2).sum(1).view(1, -1, 1, 1) - 2 * cross


def min_distance_mean(dist: torch.Tensor) -> torch.Tensor:
    """``mean_{i,u} min_k d[i, k, u]`` (a scalar tensor) of a ``[B, K, H, W]`` distance map."""
    return dist.min(dim=1).values.mean()


def update_min_distance_mean(mu: torch.Tensor, batch_mean: torch.Tensor, decay: float = 0.99) -> torch.Tensor:
    """The EMA of the mean minimum distance: ``decay·μ + (1 − decay)·batch_mean``."""
    return mu * decay + batch_mean * (1.0 - decay)


def bow_target(dist: torch.Tensor, mu: torch.Tensor, inv_delta: float) -> torch.Tensor:
    """``[B, K, H, W]`` distances → ``[B, K]`` soft BoW: softmax over words of ``−(δ/μ)·d``,
    max over locations, L1-normalised per image."""
    codes = F.softmax(-(inv_delta / mu) * dist, dim=1)
    bow = codes.flatten(2).max(dim=2).values
    return F.normalize(bow, p=1, dim=1)


def bow_logits(features: torch.Tensor, weights: torch.Tensor, kappa: float) -> torch.Tensor:
    """``[N, C]`` pooled crop features × ``[K, C]`` word weights → ``κ·⟨f, w_k⟩`` of ``[N, K]``."""
    return (features * kappa) @ weights.T


def bow_kl(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``KL(target ‖ softmax(logits))`` with ``batchmean`` reduction (``Σ / rows``); ``logits``
    has ``n·B`` rows, view-major (the ``B`` rows of each crop in turn), matched to ``target``'s ``B``."""
    repeats = logits.shape[0] // target.shape[0]
    if repeats * target.shape[0] != logits.shape[0]:
        raise ValueError(f"bow_kl: {logits.shape[0]} prediction rows for {target.shape[0]} targets")
    return F.kl_div(F.log_softmax(logits, dim=1), target.repeat(repeats, 1), reduction="batchmean")


def obow_loss(logits: Sequence[Sequence[torch.Tensor]], targets: Sequence[torch.Tensor]) -> torch.Tensor:
    """``Σ_{crop types} mean_{levels} bow_kl``: ``logits[c][l]`` is crop type ``c``'s ``[n_c·B, K_l]``
    logits at level ``l``; ``targets[l]`` the ``[B, K_l]`` BoW of level ``l`` (detached here)."""
    total = None
    for per_level in logits:
        if len(per_level) != len(targets):
            raise ValueError(f"obow_loss: {len(per_level)} levels of logits for {len(targets)} targets")
        term = torch.stack([bow_kl(z, y.detach()) for z, y in zip(per_level, targets)]).mean()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("obow_loss: no crop types")
    return total


@torch.no_grad()
def bow_perplexity(target: torch.Tensor) -> tuple[float, float]:
    """``(per batch, per image)`` perplexity of a ``[B, K]`` BoW (official ``compute_bow_perplexity``)."""
    probs = F.normalize(target, p=1, dim=1)
    per_image = torch.exp(-torch.sum(probs * torch.log(probs + 1e-5), dim=1)).mean()
    summed = F.normalize(target.sum(dim=0), p=1, dim=0)
    per_batch = torch.exp(-torch.sum(summed * torch.log(summed + 1e-5)))
    return float(per_batch), float(per_image)
