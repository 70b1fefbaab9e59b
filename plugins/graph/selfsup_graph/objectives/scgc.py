"""SCGC and SCGC* (Kulatilleke, Portmann & Chandra 2022, arXiv 2204.12656; official code ``gayanku/SCGC``).

Self-supervised contrastive graph clustering without message passing: an MLP
encoder embeds every node from its features alone, and the graph enters only
through the loss. One full-batch training step (the whole graph) computes

* z = encoder(x) for every node, Q = Student-t soft assignment of z to the K
  learnable centres μ, P = DEC target distribution of Q (recomputed every step,
  from the current Q without gradients: the code recomputes P every epoch with
  ``update_interval`` 1, and one epoch is one full-batch step);
* SCGC:  L = β·KL(P‖Q) + α·L_C(z, Â^r) + w_R·MSE(x̂, x)     (``train_scgc``)
* SCGC*: L = β·KL(P‖Q) + α·L_C(z, Σ_{k≤r} Â^k)              (``train_scgc_trim``, ``--influence``)

with L_C the neighbourhood-contrastive loss (:mod:`..losses.ncontrast`), KL the
DEC loss (:mod:`..losses.dec`) and MSE the reconstruction (:mod:`..losses.reconstruction`).

Deviation, documented: the official code starts from SDCN's pretrained
autoencoder (``data/<name>.pkl``; SDCN pretrains it with MSE for 30 epochs of
mini-batches of 256, Adam 1e-3) and initialises μ with k-means (``n_init=20``) on
its embeddings. selfsup downloads nothing, so the objective has two optimiser
phases: ``pretrain`` (encoder + a mirrored 2000-500-500 decoder, its own Adam at
``pretrain_lr``) trains on the reconstruction MSE of ``pretrain_batch_size``
random nodes per step for the first ``pretrain_steps`` steps, and ``main`` (every
parameter, ``trainer.lr``, a fresh Adam) trains on the SCGC loss afterwards; the
engine runs each phase only in its own steps (``Phase.first_step``/``last_step``). At its first step μ is set by k-means
(n_init 20) on the current embeddings (the one host-device synchronisation of the
run). SCGC* keeps its decoder only for that warm-up (it has no reconstruction
term). Without this warm-up (full-batch reconstruction instead, or none) CiteSeer
stays near ACC 0.46-0.58 (``benchmarks/graph.md``): the pretrained autoencoder is
what the published settings (lr 1e-4, τ 0.25) rely on.

Evaluation (``objective_config.assign``). The official ``train.py`` scores the argmax of Q
(the soft assignment to the learned centres) over every node before each update and reports,
for each metric, its best epoch (:mod:`selfsup_graph.assignment`). The default here,
``assign=kmeans``, is a deliberate deviation: the modality's ``clustering`` evaluator runs
k-means on the L2-normalised encoder outputs of the final encoder (and, with
``trainer.eval_every``, of each evaluated one), the protocol every other objective is scored
with, and it never picks an epoch by its labels (the per-metric maximum is optimistic: ACC's
best epoch need not be NMI's). ``assign=argmax-q`` adds the official evaluation: every main
step computes Q once, scores its argmax against ``batch["label"]`` before the step's update
(the same weights the official code scores; the MLP has no dropout, so its separate forward pass
gives the same Q) and logs ``q_acc``, ``q_nmi``, ``q_ari``, ``q_macro_f1``;
:func:`~selfsup_graph.assignment.best_per_metric` reads the official report from ``log.jsonl``.
The labels never enter the loss. ``benchmarks/graph.md`` compares the two on CiteSeer.

Hyper-parameters (``SCGC_PRESETS``): CiteSeer α 1, β 0.1, r 1, τ 0.25 for both
variants, Adam lr 1e-4, 200 epochs (``gayanku/SCGC:README.md``); n_z 10; ν 1.
Here: ``pretrain_steps`` (390) + 200 steps, ``trainer.lr`` 1e-4 (the plugin's
trainer defaults).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, Objective, Phase, StepOutput

from ..assignment import ASSIGN_CHOICES, argmax_q, score_assignment
from ..configs import SCGC_PRESETS, SCGCConfig, SCGCStarConfig
from ..encoders.mlp import mlp_layers
from ..graph_ops import contrastive_target
from ..losses.dec import dec_kl_loss, student_t_assignment, target_distribution
from ..losses.ncontrast import neighbourhood_contrastive_loss
from ..losses.reconstruction import reconstruction_loss

__all__ = ["SCGC", "SCGCStar", "resolve_hyperparameters"]

_KEYS = ("alpha", "beta", "order", "tau")


def resolve_hyperparameters(config: SCGCConfig, method: str, dataset: str | None) -> dict[str, float]:
    """α, β, r, τ: the config's values, with ``None`` filled from :data:`SCGC_PRESETS` for the dataset."""
    presets = SCGC_PRESETS[method]
    preset = presets.get(str(dataset or "").lower(), presets["default"])
    values = {key: getattr(config, key) if getattr(config, key) is not None else preset[key] for key in _KEYS}
    values["order"] = int(values["order"])
    if values["order"] < 1:
        raise ValueError(f"{method}: order must be >= 1, got {values['order']}.")
    return values


class SCGC(Objective):
    """SCGC: contrastive target Â^r and a reconstruction term (see the module docstring)."""

    method = "scgc"
    cumulative = False

    def __init__(self, config: SCGCConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder)
        self.config = dataclasses.asdict(config)
        hyper = resolve_hyperparameters(config, self.method, data_info.get("name"))
        self.alpha, self.beta, self.order, self.tau = hyper["alpha"], hyper["beta"], hyper["order"], hyper["tau"]
        self.reconstruction_weight = float(config.reconstruction_weight)
        self.pretrain_steps = int(config.pretrain_steps)
        self.pretrain_batch_size = int(config.pretrain_batch_size)
        self.pretrain_lr = float(config.pretrain_lr)
        self.dof = float(config.student_t_dof)
        self.kmeans_n_init = int(config.kmeans_n_init)
        self.assign = str(config.assign)
        if self.assign not in ASSIGN_CHOICES:
            raise ConfigError(
                f"{self.method}: objective_config.assign={self.assign!r} is not one of {list(ASSIGN_CHOICES)}. "
                "Set objective_config.assign=kmeans (the default) or argmax-q."
            )
        if self.assign == "argmax-q" and not data_info.get("num_classes"):
            raise ConfigError(
                f"{self.method}: objective_config.assign=argmax-q scores Q against the node labels, but the dataset "
                "declares no num_classes. Use objective_config.assign=kmeans."
            )
        num_clusters = config.num_clusters if config.num_clusters is not None else data_info.get("num_classes")
        if not isinstance(num_clusters, int) or num_clusters < 1:
            raise ValueError(f"{self.method}: set objective_config.num_clusters (the dataset declares no num_classes).")
        embed_dim = int(encoder.embed_dim)
        self.centers = nn.Parameter(torch.empty(num_clusters, embed_dim))
        nn.init.xavier_normal_(self.centers)
        self.decoder: nn.Module | None = None
        if self.reconstruction_weight > 0 or self.pretrain_steps > 0:
            self.decoder = mlp_layers([embed_dim, *config.decoder_dims, int(data_info["num_features"])])
        self.register_buffer("centers_ready", torch.zeros((), dtype=torch.bool))
        self._ready = False
        self._target: torch.Tensor | None = None
        self._target_key: tuple[Any, ...] | None = None

    # -- helpers -------------------------------------------------------------

    def target(self, batch: Batch) -> torch.Tensor:
        """The dense soft-positive matrix T for this graph (computed once, cached, not checkpointed)."""
        edge_index = batch["edge_index"]
        num_nodes = int(batch["x"].shape[0])
        key = (num_nodes, int(edge_index.shape[1]), edge_index.device)
        if self._target is None or self._target_key != key:
            self._target = contrastive_target(edge_index, num_nodes, self.order, cumulative=self.cumulative)
            self._target_key = key
        return self._target

    @torch.no_grad()
    def initialise_centers(self, z: torch.Tensor) -> None:
        """μ ← k-means (n_init restarts, seeded from the global RNG) centres of ``z``."""
        from selfsup.evaluation.clustering import kmeans

        seed = int(torch.randint(0, 2**31 - 1, (1,)))
        _, centers, _ = kmeans(z.detach().float(), self.centers.shape[0], n_init=self.kmeans_n_init, seed=seed)
        self.centers.copy_(centers.to(self.centers))
        self.centers_ready.fill_(True)
        self._ready = True

    def _centers_are_ready(self) -> bool:
        if not self._ready and bool(self.centers_ready):  # once, after a resume
            self._ready = True
        return self._ready

    # -- the step --------------------------------------------------------------

    def phases(self) -> list[Phase]:
        """``pretrain`` (encoder + decoder, ``pretrain_lr``) in steps 1..pretrain_steps, then ``main``
        (everything) from the next step on; each phase runs only in its own steps, so the warm-up's
        Adam never moves a parameter afterwards, and the main Adam (the centres' included) starts
        fresh, with step count 0, as the official run's optimiser does after loading the autoencoder."""
        main = [p for p in self.parameters() if p.requires_grad]
        if self.pretrain_steps <= 0 or self.decoder is None:
            return [Phase("main", main)]
        warmup = [p for p in [*self.encoder.parameters(), *self.decoder.parameters()] if p.requires_grad]
        return [
            Phase("pretrain", warmup, optimizer={"lr": self.pretrain_lr}, last_step=self.pretrain_steps),
            Phase("main", main, first_step=self.pretrain_steps + 1),
        ]

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        x = batch["x"]
        if phase == "pretrain":
            assert self.decoder is not None
            count = min(self.pretrain_batch_size, x.shape[0])
            rows = torch.randperm(x.shape[0], device=x.device)[:count]
            sub = {"x": x[rows]}
            recon = reconstruction_loss(self.decoder(self.encoder(sub)), sub["x"])
            return {"loss": recon, "reconstruction": recon.detach()}
        z = self.encoder(batch)
        if not self._centers_are_ready():
            self.initialise_centers(z)
        q = student_t_assignment(z, self.centers, self.dof)
        p = target_distribution(q)
        kl = dec_kl_loss(q, p)
        scores: dict[str, float] = {}
        if self.assign == "argmax-q":  # the official evaluation, before this step's update
            scores = score_assignment(batch["label"], argmax_q(z, self.centers, self.dof))
        contrastive = neighbourhood_contrastive_loss(z, self.target(batch), self.tau)
        loss = self.beta * kl + self.alpha * contrastive
        out: StepOutput = {"kl": kl.detach(), "contrastive": contrastive.detach()}
        out.update({key: torch.tensor(value, device=z.device) for key, value in scores.items()})
        if self.reconstruction_weight > 0 and self.decoder is not None:
            recon = reconstruction_loss(self.decoder(z), x)
            loss = loss + self.reconstruction_weight * recon
            out["reconstruction"] = recon.detach()
        out["loss"] = loss
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_target"], state["_target_key"] = None, None
        return state


class SCGCStar(SCGC):
    """SCGC* (IAC): cumulative target Σ_{k≤r} Â^k, no reconstruction term (see the module docstring)."""

    method = "scgc-star"
    cumulative = True

    def __init__(self, config: SCGCStarConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(config, encoder, data_info)
