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
    pretrain, main = objective.phases()
    assert (pretrain.name, main.name) == ("pretrain", "main") and pretrain.optimizer == {"lr": 1e-3}
    assert [s for s in range(1, 7) if pretrain.runs_at(s)] == [1, 2, 3]
    assert [s for s in range(1, 7) if main.runs_at(s)] == [4, 5, 6]
    out = objective.training_step(batch, step=1, phase="pretrain")
    out["loss"].backward()
    assert all(p.grad is not None for p in objective.encoder.parameters())
    assert all(p.grad is not None for p in objective.decoder.parameters())
    assert objective.centers.grad is None
    # after the warm-up: k-means sets the centres once
    assert not bool(objective.centers_ready)
    after = objective.training_step(batch, step=4, phase="main")
    assert bool(objective.centers_ready) and {"kl", "contrastive"} <= set(after)


def test_each_phase_steps_only_in_its_own_steps(one_thread, tmp_path) -> None:
    """The official run: an autoencoder pretrained apart, then one fresh Adam over everything. The
    warm-up's Adam must not move anything afterwards (SCGC* has no reconstruction term: the decoder
    is frozen after the warm-up), and the main Adam's step count — the centres' too — starts at 0."""
    from selfsup.config import TrainerConfig
    from selfsup.engine.trainer import Trainer
    from selfsup_graph.datasets.sbm import StochasticBlockModel

    data = StochasticBlockModel(SBMConfig(num_nodes=60, num_features=12))
    torch.manual_seed(0)
    encoder = NodeMLP(NodeMLPConfig(hidden_dims=[16], embed_dim=4), data.info)
    objective = SCGCStar(SCGCStarConfig(pretrain_steps=3, pretrain_batch_size=16, decoder_dims=[8]), encoder, data.info)
    decoder_after_warmup, optimizers = {}, {}

    class Recorder(Trainer):
        def _phase_update(self, step_fn, state, micro_batches, step):
            optimizers[state.phase.name] = state.optimizer
            if step == 4 and not decoder_after_warmup:
                decoder_after_warmup.update({k: v.clone() for k, v in objective.decoder.state_dict().items()})
            return super()._phase_update(step_fn, state, micro_batches, step)

    trainer = Recorder(TrainerConfig(max_steps=6, optimizer="adam", lr=1e-3, schedule="constant", warmup_steps=0,
                                     progress="off"), seed=0)
    history = trainer.fit(objective, data)
    assert [row["step"] for row in history if "loss/pretrain" in row] == [1, 2, 3]
    assert [row["step"] for row in history if "loss/main" in row] == [4, 5, 6]
    for key, value in objective.decoder.state_dict().items():
        assert torch.equal(value, decoder_after_warmup[key]), key
    assert all(int(s["step"]) == 3 for s in optimizers["pretrain"].state.values())
    assert int(optimizers["main"].state[objective.centers]["step"]) == 3


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
