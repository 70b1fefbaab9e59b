"""SCGC / SCGC* objective mechanics: warm-up phases, k-means initialisation, presets."""

from __future__ import annotations

import pytest
import torch

from selfsup_graph.configs import NodeMLPConfig, SBMConfig, SCGCConfig, SCGCStarConfig
from selfsup_graph.datasets.sbm import StochasticBlockModel
from selfsup_graph.encoders.mlp import NodeMLP
from selfsup_graph.objectives.scgc import SCGC, SCGCStar, resolve_hyperparameters


def _build(cls, config):
    data = StochasticBlockModel(SBMConfig(num_nodes=60, num_features=12))
    torch.manual_seed(0)
    encoder = NodeMLP(NodeMLPConfig(hidden_dims=[16], embed_dim=4), data.info)
    return cls(config, encoder, data.info), data.split("train")[0]


def test_warmup_phase_trains_encoder_and_decoder_only(one_thread) -> None:
    objective, batch = _build(SCGCStar, SCGCStarConfig(pretrain_steps=3, pretrain_batch_size=16, decoder_dims=[8]))
    assert [p.name for p in objective.phases()] == ["pretrain", "main"]
    assert objective.phases()[0].optimizer == {"lr": 1e-3}
    out = objective.training_step(batch, step=1, phase="pretrain")
    out["loss"].backward()
    assert all(p.grad is not None for p in objective.encoder.parameters())
    assert all(p.grad is not None for p in objective.decoder.parameters())
    assert objective.centers.grad is None
    main = objective.training_step(batch, step=1, phase="main")["loss"]
    assert main.item() == 0.0 and not bool(objective.centers_ready)
    # after the warm-up: k-means sets the centres once, the warm-up phase goes quiet
    after = objective.training_step(batch, step=4, phase="main")
    assert bool(objective.centers_ready) and {"kl", "contrastive"} <= set(after)
    assert objective.training_step(batch, step=4, phase="pretrain")["loss"].item() == 0.0


def test_kmeans_initialisation_places_centres_on_the_embeddings(one_thread) -> None:
    objective, batch = _build(SCGC, SCGCConfig(pretrain_steps=0, decoder_dims=[8], kmeans_n_init=3))
    assert [p.name for p in objective.phases()] == ["main"]
    objective.training_step(batch, step=1, phase="main")
    with torch.no_grad():
        z = objective.encoder(batch)
    assert objective.centers.min() >= z.min() - 1e-5 and objective.centers.max() <= z.max() + 1e-5
    # a resumed objective does not re-run k-means: the flag travels in the state dict
    clone, _ = _build(SCGC, SCGCConfig(pretrain_steps=0, decoder_dims=[8]))
    clone.load_state_dict(objective.state_dict())
    clone.training_step(batch, step=2, phase="main")
    assert torch.equal(clone.centers, objective.centers)


def test_presets_and_overrides() -> None:
    assert resolve_hyperparameters(SCGCStarConfig(), "scgc-star", "citeseer") == {"alpha": 1.0, "beta": 0.1, "order": 1, "tau": 0.25}
    assert resolve_hyperparameters(SCGCConfig(tau=2.0), "scgc", "sbm")["tau"] == 2.0
    with pytest.raises(ValueError, match="order"):
        resolve_hyperparameters(SCGCConfig(order=0), "scgc", "cora")
