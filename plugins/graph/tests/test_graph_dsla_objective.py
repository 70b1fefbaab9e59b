"""The ``d-sla`` objective: conformance kits, loss composition, bad inputs, and learning on real molecules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn

from selfsup.errors import ConfigError, DatasetError
from selfsup.registry import get_registry
from selfsup.testing import ObjectiveContract
from selfsup_graph.dsla_config import DSLAConfig
from selfsup_graph.objectives.dsla import DSLA, edit_order_agreement

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DATA = Path(os.environ.get("SELFSUP_DATA", REPO.parent / "shared" / "data"))
TINY_MOLECULES = {"root": str(HERE / "data" / "tiny_molecules.csv"), "label_columns": ["task_a", "task_b"], "ignore_columns": ["name"]}
SMALL_GIN = {"num_layers": 2, "hidden_dim": 16}


class TestDSLAOnMoleculesContract(ObjectiveContract):
    modality = "graph"
    dataset = "molecule-csv"
    dataset_config = TINY_MOLECULES
    encoder = "gin"
    encoder_config = SMALL_GIN
    objective = "d-sla"


class TestDSLAOnTUContract(ObjectiveContract):
    """Float node features (zero mask), edge labels (attributes copied from the batch), a graph without edges."""

    modality = "graph"
    dataset = "tu"
    dataset_config = {"root": str(HERE / "data" / "tiny_tu"), "val_fraction": 0.0, "test_fraction": 0.25}
    encoder = "gin"
    encoder_config = SMALL_GIN
    objective = "d-sla"
    batch_size = 4


def _build(config: DSLAConfig | None = None, dataset: str = "molecule-csv", dataset_config: dict | None = None):
    registry = get_registry()
    spec = registry.get("dataset", dataset, modality="graph")
    from omegaconf import OmegaConf

    data = spec.resolve_factory()(OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(spec.config_cls), dataset_config or TINY_MOLECULES)))
    encoder_spec = registry.get("encoder", "gin", modality="graph")
    torch.manual_seed(0)
    encoder = encoder_spec.resolve_factory()(encoder_spec.config_cls(**SMALL_GIN), data.info)
    return data, DSLA(config or DSLAConfig(), encoder, data.info)


def _batch(data, split: str = "train", size: int = 8, offset: int = 0):
    dataset = data.split(split)
    return data.collate([dataset[i] for i in range(offset, min(offset + size, len(dataset)))])


def test_loss_is_the_weighted_sum_and_molecules_use_the_zinc_bonds(one_thread) -> None:
    data, objective = _build()
    assert objective.added_edge_attributes == "zinc" and objective.mask_token == [119.0, 0.0]
    scores: list[torch.Tensor] = []
    objective.score.register_forward_hook(lambda module, inputs, output: scores.append(output.detach().squeeze(-1)))
    torch.manual_seed(0)
    out = objective.training_step(_batch(data), step=1, phase="main")
    assert set(out) == {"loss", "gd", "edit", "margin", "gd_accuracy", "edit_order"}
    total = out["gd"] + 0.7 * out["edit"] + 0.5 * out["margin"]
    assert torch.allclose(out["loss"], total, atol=1e-6)
    # the discrimination accuracy is the share of graphs whose original (candidate 0) scores highest
    assert scores[0].shape == (8, 5)
    assert float(out["gd_accuracy"]) == pytest.approx(float((scores[0].argmax(dim=1) == 0).float().mean()))
    assert out["margin"] > 0
    # switching the two auxiliary terms off leaves the discrimination loss alone
    _, bare = _build(DSLAConfig(edit_coeff=0.0, margin_coeff=0.0))
    torch.manual_seed(0)
    plain = bare.training_step(_batch(data), step=1, phase="main")
    assert torch.allclose(plain["loss"], plain["gd"])


def test_the_objective_takes_any_graph_level_encoder(one_thread) -> None:
    """A plain torch_geometric GIN (embedding the atom type) works as the encoder."""
    from torch_geometric.nn import GIN, global_mean_pool

    class PlainGIN(nn.Module):
        embed_dim = 12

        def __init__(self) -> None:
            super().__init__()
            self.atoms = nn.Embedding(120, 12)
            self.gin = GIN(12, 12, num_layers=2)

        def forward(self, batch):
            graph = batch["graph"]
            return global_mean_pool(self.gin(self.atoms(graph.x[:, 0]), graph.edge_index), graph.batch, size=graph.num_graphs)

    data, _ = _build()
    objective = DSLA(DSLAConfig(), PlainGIN(), data.info)
    out = objective.training_step(_batch(data), step=1, phase="main")
    out["loss"].backward()
    assert torch.isfinite(out["loss"]) and objective.encoder.atoms.weight.grad is not None


def test_bad_settings_and_batches_raise_named_errors() -> None:
    data, objective = _build()
    with pytest.raises(DatasetError, match="graph-level batches"):
        objective.training_step({"x": torch.zeros(3, 2)}, step=1, phase="main")
    for bad in (DSLAConfig(num_perturbed=0), DSLAConfig(mask_strength=1.5), DSLAConfig(margin=-1.0), DSLAConfig(added_edge_attributes="copy")):
        with pytest.raises(ConfigError, match="d-sla"):
            DSLA(bad, objective.encoder, data.info)
    with pytest.raises(ConfigError, match="zinc"):
        DSLA(DSLAConfig(added_edge_attributes="zinc"), objective.encoder, {"num_edge_features": 1})


def test_edit_order_agreement() -> None:
    distances = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    edits = torch.tensor([[0.0, 1.0, 2.0, 4.0], [0.0, 1.0, 1.0, 4.0]])
    # graph 0: 3 ordered pairs, all agree; graph 1: (1,3) and (2,3) ordered, none agree
    assert edit_order_agreement(distances, edits).item() == pytest.approx(3 / 5)


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "bbbp" / "bbbp.csv").is_file(), reason="BBBP not found (set SELFSUP_DATA)")
def test_dsla_learns_to_find_the_original_on_bbbp(one_thread) -> None:
    """150 Adam steps on BBBP molecules: held-out discrimination accuracy rises well above chance (1/5)."""
    data, objective = _build(dataset="bbbp", dataset_config={"root": str(DATA / "bbbp")})
    held_out = _batch(data, "val", size=64)

    def held_out_accuracy() -> float:
        objective.eval()
        torch.manual_seed(123)
        with torch.no_grad():
            value = float(objective.training_step(held_out, step=0, phase="main")["gd_accuracy"])
        objective.train()
        return value

    before = held_out_accuracy()
    optimiser = torch.optim.Adam(objective.parameters(), lr=1e-3)
    train = data.split("train")
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    for step in range(150):
        rows = torch.randint(len(train), (32,), generator=generator).tolist()
        loss = objective.training_step(data.collate([train[i] for i in rows]), step=step + 1, phase="main")["loss"]
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    after = held_out_accuracy()
    assert after > 0.6 and after > before + 0.25, (before, after)

