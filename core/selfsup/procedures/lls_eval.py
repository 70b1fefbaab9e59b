"""The ``lls`` evaluator: recover classes without labels under latent label shift (DDFA).

Protocol (:class:`LatentLabelShift`; the pure steps are in :mod:`selfsup.procedures.lls`):

1. Embed ``config.split`` with the frozen encoder.
2. Build ``n_domains`` equal-size domains with Dirichlet(α) label proportions from its labels
   (:func:`~.lls.make_latent_label_shift`); the labels are then hidden from every later step.
3. *Discriminate*: a logistic-regression domain discriminator p(d|x) on the features, fitted on a
   seeded ``fit_fraction`` of the domain rows.
4. *Discretise*: k-means (``n_bins``, default 3·K) on p(d|x) of all domain rows.
5. *Factorise*: NMF of the domain × bin matrix p(c|d) into p̂(y|d) and p̂(c|y); refuse (ConfigError)
   when assumption A2 fails (D < K or cond(p̂(y|d)) > ``refuse_condition_number``).
6. *Adjust*: p̂(y|x, d) ∝ (pinv(Q̂) p(d|x))₊ · Q̂[d, y]; predict its argmax on the held-out rows.
7. Score with the true labels after Hungarian matching: ``accuracy`` (DDFA), ``kmeans_accuracy``
   (k-means with K clusters on the same standardised features, the SCAN-like baseline), ``naive_accuracy``
   (label = argmax_y p̂(c|y) p̂(y|d) of the row's bin), ``prior_l1`` (Σ_y |p̂(y|d) − p(y|d)| per domain,
   mean), ``condition_number`` of p̂(y|d).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..evaluation._common import Standardizer, as_class_indices
from ..evaluation.clustering import kmeans
from ..evaluation.features import extract_features, split_train_val
from ..evaluation.linear_probe import fit_logistic_regression
from ..evaluation.metrics import cluster_accuracy, linear_sum_assignment
from ..interfaces import DataSource, Evaluator
from .configs import LLSConfig
from .lls import adjust, bin_domain_matrix, check_identifiable, factorize, make_latent_label_shift, matched_prior_l1

__all__ = ["LatentLabelShift", "LLSConfig", "ddfa"]

_NAME = "lls"


def ddfa(
    x: torch.Tensor, y: torch.Tensor, cfg: LLSConfig, seed: int
) -> dict[str, float]:
    """Run the protocol (steps 2-7 of the module docstring) on features ``x`` ``[N, D]`` and labels ``y``."""
    y_np = y.numpy()
    k = int(y_np.max()) + 1
    rows, domains, true_prior = make_latent_label_shift(
        y_np, cfg.n_domains, alpha=cfg.alpha, max_condition_number=cfg.max_condition_number, seed=seed
    )
    x_dom, y_dom = x[torch.as_tensor(rows)].float(), y_np[rows]
    score_idx, fit_idx = split_train_val(len(rows), cfg.fit_fraction, seed)
    disc, _ = fit_logistic_regression(
        x_dom[fit_idx], torch.as_tensor(domains)[fit_idx], None, None,
        l2_grid=(cfg.l2,), max_iter=200, num_classes=cfg.n_domains,
    )
    with torch.no_grad():
        p_d_x = disc.logits(x_dom).softmax(dim=1).double().numpy()
    n_bins = cfg.n_bins or 3 * k
    bins, _, _ = kmeans(torch.as_tensor(p_d_x, dtype=torch.float32), n_bins, n_init=5, seed=seed)
    bins_np = bins.numpy()
    m = bin_domain_matrix(bins_np, domains, n_bins, cfg.n_domains)
    prior_hat, bin_given_y = factorize(m, k, seed=seed, restarts=cfg.nmf_restarts)
    cond = check_identifiable(prior_hat, refuse_condition_number=cfg.refuse_condition_number)
    s = score_idx.numpy()
    posterior = adjust(p_d_x[s], prior_hat, domains[s])
    pred = posterior.argmax(axis=1)
    naive = (bin_given_y[:, bins_np[s]].T * prior_hat[domains[s]]).argmax(axis=1)
    x_std = Standardizer.fit(x_dom)(x_dom)
    km, _, _ = kmeans(x_std[torch.as_tensor(s)], k, n_init=5, seed=seed)
    table = np.zeros((k, k), dtype=np.int64)  # rows: true classes, columns: estimated classes
    np.add.at(table, (y_dom[s], pred), 1)
    true_ids, est_ids = linear_sum_assignment(table, maximize=True)
    perm = np.arange(k)
    perm[true_ids] = est_ids
    return {
        "accuracy": cluster_accuracy(y_dom[s], pred),
        "kmeans_accuracy": cluster_accuracy(y_dom[s], km.numpy()),
        "naive_accuracy": cluster_accuracy(y_dom[s], naive),
        "prior_l1": matched_prior_l1(true_prior, prior_hat, perm),
        "condition_number": cond,
        "rows": float(len(s)),
    }


class LatentLabelShift(Evaluator):
    """DDFA on frozen features (registered as ``lls``)."""

    config_cls = LLSConfig
    config: LLSConfig
    hyperparameters = ("condition_number", "rows")
    lower_is_better = ("prior_l1",)

    def evaluate(self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        cfg = self.config
        x, y = extract_features(encoder, data, cfg.split, device=device, batch_size=cfg.batch_size, evaluator=_NAME)
        return ddfa(x, as_class_indices(y, evaluator=_NAME, what=cfg.split), cfg, seed)
