"""The linear probes' penalised logistic regression: objective, exact gradient and L-BFGS fit.

Shared by :mod:`selfsup.evaluation.linear_probe` (one multinomial or binary probe) and
:mod:`selfsup.evaluation.multitask` (one binary probe per task), so that neither imports
the other.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["penalised_cross_entropy", "penalised_binary_cross_entropy", "lbfgs_fit"]


def penalised_cross_entropy(
    x_t: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, l2: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The probe's objective and its exact gradient, from features stored transposed.

    With ``X = x_t^T`` ``[N, D]``, ``Z = X W + b`` and ``P = softmax(Z)`` row-wise:

    ``L = -(1/N) sum_i log P[i, y_i] + (l2 / 2) ||W||_F^2``,
    ``dL/dW = X^T G + l2 W`` and ``dL/db = sum_i G[i]``, with ``G = (P - onehot(y)) / N``.

    Returns ``(L, dL/dW [D, C], dL/db [C])``. The computation is laid out as
    ``Z^T = W^T x_t`` ``[C, N]`` so that each evaluation reads the features twice
    in their contiguous order (one product forward, one backward), about half
    the time of autograd through ``x @ W`` on a CPU, where this is memory-bound.
    """
    logits_t = torch.addmm(bias[:, None], weight.t(), x_t)  # [C, N]
    log_probs = logits_t.log_softmax(dim=0)
    rows = x_t.shape[1]
    loss = -log_probs.gather(0, y[None]).mean() + 0.5 * l2 * weight.pow(2).sum()
    residual = log_probs.exp_()
    residual.scatter_add_(0, y[None], torch.full((1, rows), -1.0, device=x_t.device, dtype=x_t.dtype))
    residual.div_(rows)  # G^T [C, N]
    grad_weight = torch.addmm(weight, x_t, residual.t(), beta=l2)
    return loss, grad_weight, residual.sum(dim=1)


def penalised_binary_cross_entropy(
    x_t: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, l2: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`penalised_cross_entropy` for two classes, in one weight vector.

    The loss depends on ``W`` only through ``u = W[:, 1] - W[:, 0]`` (and on ``b``
    through ``c = b_1 - b_0``), and for a given ``u`` the penalty is smallest at
    ``W = [-u/2, u/2]``, where it is ``(l2 / 4) ||u||^2``. So with ``X = x_t^T``,
    ``s = X u + c`` and ``y`` in {0, 1} (float):

    ``L(u, c) = (1/N) sum_i [softplus(s_i) - y_i s_i] + (l2 / 4) ||u||^2``,
    ``dL/du = X^T r + (l2 / 2) u`` and ``dL/dc = sum_i r_i``, with ``r = (sigmoid(s) - y) / N``,

    and ``W = [-u/2, u/2]``, ``b = [-c/2, c/2]`` minimises the two-column objective
    when ``(u, c)`` minimises this one. ``weight`` is ``u`` ``[D]``, ``bias`` is
    ``c`` ``[1]``; returns ``(L, dL/du [D], dL/dc [1])``. Each evaluation is one
    matrix-vector product forward and one backward: half the work of the
    two-column form, whose cost on a CPU is reading the features.
    """
    scores = weight @ x_t + bias  # [N]
    rows = x_t.shape[1]
    loss = (F.softplus(scores) - y * scores).mean() + 0.25 * l2 * weight.pow(2).sum()
    residual = scores.sigmoid_().sub_(y).div_(rows)
    grad_weight = torch.addmv(weight, x_t, residual, beta=0.5 * l2)
    return loss, grad_weight, residual.sum(dim=0, keepdim=True)


def lbfgs_fit(
    x_t: torch.Tensor,
    y: torch.Tensor,
    l2: float,
    max_iter: int,
    init: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise the probe's objective from ``init`` = ``(W [D, C], b [C])``; two classes in
    the one-vector form (:func:`penalised_binary_cross_entropy`)."""
    binary = init[0].shape[1] == 2
    if binary:
        weight = (init[0][:, 1] - init[0][:, 0]).contiguous()
        bias = (init[1][1:] - init[1][:1]).clone()
        targets = y.to(x_t.dtype)
    else:
        weight = init[0].detach().clone()
        bias = init[1].detach().clone()
    optimizer = torch.optim.LBFGS(
        [weight, bias],
        lr=1.0,
        max_iter=max_iter,
        history_size=20,
        tolerance_grad=1e-6,
        tolerance_change=1e-9,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        if binary:
            loss, weight.grad, bias.grad = penalised_binary_cross_entropy(x_t, targets, weight, bias, l2)
        else:
            loss, weight.grad, bias.grad = penalised_cross_entropy(x_t, y, weight, bias, l2)
        return loss

    with torch.no_grad():
        optimizer.step(closure)
    if binary:
        half_weight, half_bias = weight.detach() / 2, bias.detach() / 2
        return torch.stack([-half_weight, half_weight], dim=1), torch.cat([-half_bias, half_bias])
    return weight.detach(), bias.detach()
