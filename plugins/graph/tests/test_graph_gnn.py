"""GIN and GCN encoders: hand-computed layers, invariances, level dispatch, defaults, conformance kits."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Batch, Data

from selfsup.errors import ConfigError, DatasetError
from selfsup.registry import get_registry
from selfsup.testing import EncoderContract
from selfsup_graph.configs import GCNConfig, GINConfig
from selfsup_graph.encoders.gnn import EdgeInput, GraphGNN, HuGCNConv, HuGINConv, NodeGCN, build_gcn, build_gin

pytestmark = pytest.mark.usefixtures("one_thread")

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("SELFSUP_DATA", REPO.parent / "shared" / "data"))
TINY_TU = Path(__file__).parent / "data" / "tiny_tu"
TINY_MOLECULES = Path(__file__).parent / "data" / "tiny_molecules.csv"
SMALL = {"num_layers": 2, "hidden_dim": 16}
MOLECULE_INFO = {"level": "graph", "num_node_features": 2, "num_edge_features": 2, "node_categories": [120, 4], "edge_categories": [4, 3]}

# the path 0 - 1 - 2, both directions
PATH_EDGES = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
H = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def _identity_mlp(conv: HuGINConv) -> None:
    """Make Linear(2, 4), ReLU, Linear(4, 2) the identity: relu(x) - relu(-x) = x."""
    first, second = conv.mlp[0], conv.mlp[2]
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]))
        second.weight.copy_(torch.tensor([[1.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, -1.0]]))
        first.bias.zero_()
        second.bias.zero_()


def test_gin_layer_sums_neighbours_self_and_edge_embeddings_by_hand() -> None:
    plain = HuGINConv(2, EdgeInput(None, 0, 2))
    _identity_mlp(plain)
    # (A + I) h: node 0 = h0 + h1, node 1 = h0 + h1 + h2, node 2 = h1 + h2
    assert plain(H, PATH_EDGES, None).tolist() == [[1.0, 1.0], [2.0, 2.0], [1.0, 2.0]]
    bonds = EdgeInput([4, 3], 2, 2)
    with torch.no_grad():  # bond type r -> [r, 0] (r = 4: self-loop), direction d -> [0, 10 d]
        bonds.tables[0].weight.copy_(torch.tensor([[float(r), 0.0] for r in range(6)]))
        bonds.tables[1].weight.copy_(torch.tensor([[0.0, 10.0 * d] for d in range(3)]))
    chem = HuGINConv(2, bonds)
    _identity_mlp(chem)
    edge_attr = torch.tensor([[1, 0], [1, 0], [3, 2], [3, 2]])  # 0-1 single, 1-2 aromatic with direction 2
    # node 0: (h0 + [4,0]) + (h1 + [1,0]); node 1: (h1 + [4,0]) + (h0 + [1,0]) + (h2 + [3,20]); node 2: (h2 + [4,0]) + (h1 + [3,20])
    assert chem(H, PATH_EDGES, edge_attr).tolist() == [[6.0, 1.0], [10.0, 22.0], [8.0, 22.0]]


def test_gcn_layers_match_the_dense_normalised_adjacency() -> None:
    conv = HuGCNConv(2, EdgeInput(None, 0, 2))
    with torch.no_grad():
        conv.linear.weight.copy_(torch.eye(2))
        conv.linear.bias.zero_()
    s6 = 6 ** -0.5  # degrees with self-loops: 2, 3, 2
    expected = torch.stack([H[0] / 2 + H[1] * s6, H[1] / 3 + (H[0] + H[2]) * s6, H[2] / 2 + H[1] * s6])
    torch.testing.assert_close(conv(H, PATH_EDGES, None), expected)
    node = NodeGCN({"num_features": 2}, num_layers=1, hidden_dim=3)
    dense = torch.tensor([[1 / 2, s6, 0.0], [s6, 1 / 3, s6], [0.0, s6, 1 / 2]])
    layer = node.convs[0]
    out = node({"x": H, "edge_index": PATH_EDGES})
    torch.testing.assert_close(out, dense @ H @ layer.lin.weight.T + layer.bias)


def _molecules() -> list[Data]:
    from selfsup_graph.datasets.featurize import featurize_mol, parse_smiles

    graphs = []
    for smiles in ("CC(=O)O", "c1ccncc1", "C", "F/C=C\\F"):
        g = featurize_mol(parse_smiles(smiles))
        graphs.append(Data(x=g.x, edge_index=g.edge_index, edge_attr=g.edge_attr))
    return graphs


def test_graph_embeddings_ignore_node_order_and_batch_company() -> None:
    torch.manual_seed(0)
    encoder = build_gin(GINConfig(**SMALL), MOLECULE_INFO).eval()
    graphs = _molecules()
    with torch.no_grad():
        together = encoder({"graph": Batch.from_data_list(graphs)})
        alone = encoder({"graph": Batch.from_data_list([graphs[1]])})
        acid = graphs[0]
        order = torch.tensor([3, 1, 0, 2])  # new node k is old node order[k]
        inverse = torch.argsort(order)
        permuted = Data(x=acid.x[order], edge_index=inverse[acid.edge_index], edge_attr=acid.edge_attr)
        shuffled = encoder({"graph": Batch.from_data_list([permuted])})
    assert together.shape == (4, 16) and together.dtype == torch.float32
    torch.testing.assert_close(alone[0], together[1])
    torch.testing.assert_close(shuffled[0], together[0])
    summed = build_gin(GINConfig(**SMALL, pooling="sum"), MOLECULE_INFO)
    summed.load_state_dict(encoder.state_dict())
    with torch.no_grad():
        sums = summed.eval()({"graph": Batch.from_data_list(graphs)})
    torch.testing.assert_close(sums, together * torch.tensor([[4.0], [6.0], [1.0], [4.0]]))


def test_graphs_without_edges_are_embedded() -> None:
    from selfsup_graph.datasets.featurize import featurize_mol, parse_smiles

    single = [featurize_mol(parse_smiles(smiles)) for smiles in ("C", "[Na+].[Cl-]")]
    batch = Batch.from_data_list([Data(x=g.x, edge_index=g.edge_index, edge_attr=g.edge_attr) for g in single])
    assert batch.edge_index.shape == (2, 0)
    for build, config in ((build_gin, GINConfig(**SMALL)), (build_gcn, GCNConfig(**SMALL))):
        encoder = build(config, MOLECULE_INFO)
        out = encoder.train()({"graph": batch})  # training mode: BatchNorm over the batch's 3 atoms
        assert out.shape == (2, 16) and torch.isfinite(out).all()


def test_bond_features_reach_the_embedding_unless_switched_off() -> None:
    graphs = _molecules()
    changed = graphs[0].clone()
    changed.edge_attr = changed.edge_attr.clone()
    changed.edge_attr[:, 0] = 0  # every bond single
    for use, differs in ((True, True), (False, False)):
        torch.manual_seed(0)
        encoder = build_gin(GINConfig(**SMALL, use_edge_features=use), MOLECULE_INFO).eval()
        with torch.no_grad():
            a = encoder({"graph": Batch.from_data_list([graphs[0]])})
            b = encoder({"graph": Batch.from_data_list([changed])})
        assert (not torch.allclose(a, b)) == differs


def test_defaults_are_hu_et_al_and_jk_modes_set_embed_dim() -> None:
    gin = build_gin(GINConfig(), MOLECULE_INFO)
    assert gin.embed_dim == 300 and len(gin.convs) == 5 and gin.pooling == "mean" and gin.jk == "last"
    assert [t.weight.shape for t in gin.node_input.tables] == [(120, 300), (4, 300)]
    assert [t.weight.shape for t in gin.convs[0].edges.tables] == [(6, 300), (3, 300)]  # + self-loop and mask bond types
    assert build_gin(GINConfig(**SMALL, jk="concat"), MOLECULE_INFO).embed_dim == 48
    graphs = Batch.from_data_list(_molecules())
    for jk in ("sum", "max", "concat"):
        encoder = build_gin(GINConfig(**SMALL, jk=jk), MOLECULE_INFO).eval()
        with torch.no_grad():
            assert encoder({"graph": graphs}).shape == (4, encoder.embed_dim)
    graph_gcn = build_gcn(GCNConfig(), MOLECULE_INFO)
    assert isinstance(graph_gcn, GraphGNN) and graph_gcn.conv_type == "gcn" and graph_gcn.embed_dim == 300 and len(graph_gcn.convs) == 5
    node_gcn = build_gcn(GCNConfig(), {"level": "node", "num_features": 12})
    assert isinstance(node_gcn, NodeGCN) and node_gcn.embed_dim == 256 and len(node_gcn.convs) == 2


def test_bad_encoder_settings_and_batches_are_named_errors() -> None:
    for bad in (GINConfig(pooling="max"), GINConfig(jk="lstm"), GINConfig(num_layers=0), GINConfig(dropout=1.0)):
        with pytest.raises(ConfigError, match=r"gin: .*encoder_config"):
            build_gin(bad, MOLECULE_INFO)
    encoder = build_gin(GINConfig(**SMALL), {"level": "graph", "num_node_features": 7, "num_edge_features": 4})
    wrong = Data(x=torch.zeros(3, 5), edge_index=PATH_EDGES, edge_attr=torch.zeros(4, 4))
    with pytest.raises(DatasetError, match=r"node features with 7 columns but got x of shape \(3, 5\)"):
        encoder({"graph": Batch.from_data_list([wrong])})
    no_edges = Data(x=torch.zeros(3, 7), edge_index=PATH_EDGES)
    with pytest.raises(DatasetError, match=r"no edge_attr.*use_edge_features=false"):
        encoder({"graph": Batch.from_data_list([no_edges])})
    with pytest.raises(DatasetError, match=r"needs a batch with 'graph'"):
        encoder({"label": torch.zeros(2)})
    with pytest.raises(ConfigError, match=r"num_features"):
        build_gcn(GCNConfig(), {"level": "node"})


def test_gin_on_a_node_level_graph_gives_node_embeddings() -> None:
    spec = get_registry().get("dataset", "sbm", modality="graph")
    data = spec.resolve_factory()(spec.config_cls(num_nodes=40, num_features=6))
    batch = data.collate([data.split("train")[0]])
    encoder = build_gin(GINConfig(**SMALL), data.info).eval()
    with torch.no_grad():
        assert encoder(batch).shape == (40, 16)


class _Quiet:
    """The tiny molecule CSV has one bad SMILES on purpose; its warning is expected."""

    @pytest.fixture(autouse=True)
    def _quiet(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            yield


class TestGINOnMoleculesContract(_Quiet, EncoderContract):
    modality = "graph"
    dataset = "molecule-csv"
    dataset_config = {"root": str(TINY_MOLECULES), "ignore_columns": ["name"]}
    encoder = "gin"
    encoder_config = SMALL


class TestGINOnTUContract(EncoderContract):
    modality = "graph"
    dataset = "tu"
    dataset_config = {"root": str(TINY_TU)}
    encoder = "gin"
    encoder_config = {**SMALL, "pooling": "sum", "jk": "concat"}


class TestGraphGCNContract(_Quiet, EncoderContract):
    modality = "graph"
    dataset = "molecule-csv"
    dataset_config = {"root": str(TINY_MOLECULES), "ignore_columns": ["name"]}
    encoder = "gcn"
    encoder_config = SMALL


class TestNodeGCNContract(EncoderContract):
    modality = "graph"
    dataset = "sbm"
    dataset_config = {"num_nodes": 60, "num_features": 12}
    encoder = "gcn"
    encoder_config = {"hidden_dim": 16}


@pytest.mark.skipif(not (DATA / "mutag" / "MUTAG_A.txt").is_file(), reason="MUTAG files not found (set SELFSUP_DATA)")
class TestDefaultGINOnMutagContract(EncoderContract):
    modality = "graph"
    dataset = "mutag"
    dataset_config = {"root": str(DATA / "mutag")}
    encoder = "gin"

