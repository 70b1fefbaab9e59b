"""Uniform resampling, the augmentation that makes CLAN's negatives.

Every row is augmented with probability ``p_sample`` (1.0 in CLAN), and then
every feature of an augmented row independently with probability ``p_feature``
(0.1): a numerical value is replaced by a draw from U(mean − a, mean + a)
(a = 1.7, mean 0, on standardised features), a categorical value by a
category drawn uniformly from 1..K−1 (K = the column's cardinality, which counts
the reserved missing index 0; a column with no real category keeps its value).

Source: jackwilkie/CLAN @ 680ab61, ``loss/augmentations.py``
(``uniform_resample``, ``get_aug_matrix``) with the settings of
``train_clan.py`` (``--resample_p_sample 1.0 --resample_p_feature 0.1
--resample_max 1.7 --resample_mean 0.0``). CLAN's data is all numerical; the
categorical rule is this plugin's extension. Vectorised, global RNG of the
batch's device, no host-device sync.
"""

from __future__ import annotations

import torch

__all__ = ["uniform_resample"]


@torch.no_grad()
def uniform_resample(
    numerical: torch.Tensor | None,
    categorical: torch.Tensor | None,
    cardinalities: torch.Tensor | None,
    *,
    p_feature: float = 0.1,
    p_sample: float = 1.0,
    max_value: float = 1.7,
    mean: float = 0.0,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Return augmented copies of ``numerical`` [B, n_num] and ``categorical`` [B, n_cat].

    ``cardinalities`` is a long tensor [n_cat] on the batch's device (required
    when ``categorical`` has columns). Inputs are not modified.
    """
    reference = numerical if numerical is not None else categorical
    if reference is None:
        raise ValueError("uniform_resample needs numerical or categorical columns")
    rows, device = reference.shape[0], reference.device
    sample_selected = None
    if p_sample < 1.0:
        sample_selected = torch.rand(rows, 1, device=device) < p_sample

    def feature_mask(columns: int) -> torch.Tensor:
        selected = torch.rand(rows, columns, device=device) < p_feature
        return selected if sample_selected is None else selected & sample_selected

    augmented_numerical = numerical
    if numerical is not None and numerical.shape[1] > 0:
        noise = torch.empty_like(numerical).uniform_(mean - max_value, mean + max_value)
        augmented_numerical = torch.where(feature_mask(numerical.shape[1]), noise, numerical)

    augmented_categorical = categorical
    if categorical is not None and categorical.shape[1] > 0:
        if cardinalities is None:
            raise ValueError("uniform_resample: cardinalities are required for categorical columns")
        real_categories = (cardinalities - 1).clamp_min(0)  # indices 1..K-1
        draws = torch.rand(categorical.shape, device=device)
        resampled = 1 + torch.minimum((draws * real_categories).long(), (real_categories - 1).clamp_min(0))
        replace = feature_mask(categorical.shape[1]) & (real_categories > 0)
        augmented_categorical = torch.where(replace, resampled, categorical)
    return augmented_numerical, augmented_categorical
