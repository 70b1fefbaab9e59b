"""MLP probe: a small non-linear classifier on frozen, standardised features.

Protocol (:class:`MLPProbe`):

1. Extract features of ``"train"``, the validation rows (the ``"val"`` split,
   else a seeded ``val_fraction`` of train, which is then left out of training)
   and ``config.split``.
2. Train :func:`fit_mlp_classifier` on the fitting rows: features standardised
   with their mean/std; blocks ``Linear -> ReLU -> Dropout`` of widths
   ``hidden`` and a final ``Linear`` to the classes; AdamW (weight decay on the
   weight matrices only) on the mean cross-entropy, shuffled minibatches.
3. Early stopping: after each epoch the validation accuracy is measured; the
   parameters of the best epoch (strictly better than all before) are kept, and
   training stops after ``patience`` epochs without improvement.
4. Report ``accuracy`` and ``macro_f1`` on ``config.split``.

Initialisation (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, as ``nn.Linear``),
shuffling and dropout masks all draw from private generators seeded with
``seed``, so results are reproducible and the global RNG is untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ComponentError
from ..interfaces import DataSource
from . import metrics
from ._common import Standardizer, as_class_indices, count_classes
from .configs import MLPProbeConfig, check_mlp_settings
from .features import ProbeFeatures
from .probe import FeatureProbe

__all__ = ["MLPProbeConfig", "MLPProbe", "MLPClassifier", "fit_mlp_classifier"]

_NAME = "mlp-probe"


@dataclass(frozen=True)
class MLPClassifier:
    """A fitted MLP; calling it maps raw features ``[N, D]`` to int64 class indices ``[N]``."""

    standardizer: Standardizer
    weights: tuple[torch.Tensor, ...]
    biases: tuple[torch.Tensor, ...]
    #: Epochs trained before stopping, and the (1-based) epoch whose parameters were kept.
    epochs_run: int = 0
    best_epoch: int = 0
    #: Validation accuracy of the kept parameters (``nan`` without validation data).
    val_accuracy: float = float("nan")

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return _forward(self.standardizer(x.to(torch.float32)), self.weights, self.biases, 0.0, None)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = []
        for start in range(0, x.shape[0], 8192):
            out.append(self.logits(x[start : start + 8192]).argmax(dim=1))
        return torch.cat(out).to(x.device) if out else torch.zeros(0, dtype=torch.int64, device=x.device)


def _forward(
    h: torch.Tensor,
    weights: Sequence[torch.Tensor],
    biases: Sequence[torch.Tensor],
    dropout: float,
    generator: torch.Generator | None,
) -> torch.Tensor:
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = torch.addmm(b, h, w)
        if i < last:
            h = F.relu(h)
            if generator is not None and dropout > 0.0:
                keep = torch.rand(h.shape, generator=generator, device=h.device) >= dropout
                h = h * keep / (1.0 - dropout)
    return h


def fit_mlp_classifier(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor | None,
    y_val: torch.Tensor | None,
    *,
    hidden: Sequence[int] = (256, 256),
    dropout: float = 0.1,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    epochs: int = 50,
    batch_size: int = 256,
    patience: int = 5,
    seed: int = 0,
    device: torch.device | str = "cpu",
    num_classes: int | None = None,
) -> MLPClassifier:
    """Train an MLP classifier with early stopping on validation accuracy (see the module docstring).

    ``x_*`` are raw feature tensors ``[N, D]``, ``y_*`` class indices ``[N]``;
    standardisation with ``x_train``'s statistics is part of the returned model.
    Without validation data (``x_val=None``) it trains for ``epochs`` epochs and
    keeps the last parameters. Returns a :class:`MLPClassifier`, a callable
    ``features -> predicted class indices``.
    """
    hidden = tuple(int(h) for h in hidden)
    check_mlp_settings("fit_mlp_classifier", hidden, dropout, lr, weight_decay, epochs, batch_size, patience)
    device = torch.device(device)
    y_fit = as_class_indices(torch.as_tensor(y_train), evaluator="fit_mlp_classifier", what="train")
    if x_train.ndim != 2 or x_train.shape[0] != y_fit.shape[0] or x_train.shape[0] == 0:
        raise ComponentError(
            f"fit_mlp_classifier: features {tuple(x_train.shape)} and {y_fit.shape[0]} labels do not match. "
            "Pass features [N, D] (N >= 1) with one label per row."
        )
    x_fit = x_train.to(device, torch.float32)
    standardizer = Standardizer.fit(x_fit)
    x_fit = standardizer(x_fit)
    y_fit = y_fit.to(device)
    validate = x_val is not None and y_val is not None
    if validate:
        assert x_val is not None and y_val is not None
        y_sel = as_class_indices(torch.as_tensor(y_val), evaluator="fit_mlp_classifier", what="validation").to(device)
        x_sel = standardizer(x_val.to(device, torch.float32))
    classes = max(2, count_classes(y_fit, y_sel if validate else y_fit, declared=num_classes))

    init_gen = torch.Generator().manual_seed(int(seed))
    widths = (x_fit.shape[1], *hidden, classes)
    weights: list[torch.Tensor] = []
    biases: list[torch.Tensor] = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=False):
        bound = fan_in**-0.5
        w = (torch.rand(fan_in, fan_out, generator=init_gen) * 2 - 1) * bound
        b = (torch.rand(fan_out, generator=init_gen) * 2 - 1) * bound
        weights.append(w.to(device).requires_grad_(True))
        biases.append(b.to(device).requires_grad_(True))
    optimizer = torch.optim.AdamW(
        [{"params": weights, "weight_decay": weight_decay}, {"params": biases, "weight_decay": 0.0}], lr=lr
    )
    dropout_gen = torch.Generator(device=device).manual_seed(int(seed) + 1)
    n = x_fit.shape[0]

    def snapshot() -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        return tuple(w.detach().clone() for w in weights), tuple(b.detach().clone() for b in biases)

    best_acc, best_params, best_epoch, stale, epochs_run = -1.0, snapshot(), 0, 0, 0
    with torch.enable_grad():
        for epoch in range(1, epochs + 1):
            epochs_run = epoch
            order = torch.randperm(n, generator=init_gen).to(device)
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                logits = _forward(x_fit[idx], weights, biases, dropout, dropout_gen)
                loss = F.cross_entropy(logits, y_fit[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            if not validate:
                continue
            with torch.no_grad():
                val_pred = _forward(x_sel, weights, biases, 0.0, None).argmax(dim=1)
                val_acc = float((val_pred == y_sel).float().mean())
            if val_acc > best_acc:
                best_acc, best_params, best_epoch, stale = val_acc, snapshot(), epoch, 0
            else:
                stale += 1
                if stale >= patience:
                    break
    if not validate:
        return MLPClassifier(standardizer, *snapshot(), epochs_run=epochs_run, best_epoch=epochs_run)
    return MLPClassifier(
        standardizer, *best_params, epochs_run=epochs_run, best_epoch=best_epoch, val_accuracy=best_acc
    )


class MLPProbe(FeatureProbe):
    """MLP-probe accuracy of frozen features (registered as ``mlp-probe``)."""

    config_cls = MLPProbeConfig
    name = _NAME
    config: MLPProbeConfig

    def fit_and_score(self, feats: ProbeFeatures, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        cfg = self.config
        y_eval = as_class_indices(feats.y_eval, evaluator=_NAME, what=cfg.split)
        model = fit_mlp_classifier(
            feats.x_fit,
            feats.y_fit,
            feats.x_val,
            feats.y_val,
            hidden=cfg.hidden,
            dropout=cfg.dropout,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            epochs=cfg.epochs,
            batch_size=cfg.train_batch_size,
            patience=cfg.patience,
            seed=seed,
            device=device,
            num_classes=getattr(data, "info", {}).get("num_classes"),
        )
        pred = model(feats.x_eval.to(device)).cpu()
        return {"accuracy": metrics.accuracy(y_eval, pred), "macro_f1": metrics.macro_f1(y_eval, pred)}
