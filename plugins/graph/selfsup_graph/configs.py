"""Config dataclasses of the graph plugin's components.

Standard library only, so that ``plugin.py`` registers every component without
importing torch, scipy or torch-geometric. Fields are OmegaConf structured-config
compatible (plain types and ``Optional[...]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

__all__ = [
    "PlanetoidConfig",
    "SBMConfig",
    "TUConfig",
    "MoleculeCSVConfig",
    "BBBPConfig",
    "NodeMLPConfig",
    "GINConfig",
    "GCNConfig",
    "SCGCConfig",
    "SCGCStarConfig",
    "SCGC_PRESETS",
]


@dataclass
class PlanetoidConfig:
    """A Planetoid citation graph from the original ``ind.<name>.*`` files in ``root``.

    ``name`` is ``cora``, ``citeseer`` or ``pubmed`` (the file prefix). Splits are
    the standard semi-supervised ones of Yang et al. (2016) / Kipf & Welling (2017):
    ``train`` (the first 20 labelled nodes per class), ``val`` (the next 500),
    ``test`` (the 1000 ``test.index`` nodes) and ``all`` (every node, used by
    node clustering). Every split is the whole graph with its own ``eval_mask``.
    """

    #: Folder holding ``ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index}``.
    root: Optional[str] = None
    #: File prefix; inferred from ``root``'s folder name when ``None``.
    name: Optional[str] = None
    #: Row-normalise the bag-of-words features (GCN's preprocessing); SCGC/SDCN use raw 0/1 features.
    normalize_features: bool = False


@dataclass
class SBMConfig:
    """A generated stochastic block model with Gaussian community-dependent features (needs no files).

    Node ``i`` of community ``c`` gets features ``mu_c + noise`` where the
    community means ``mu_c`` are random unit-variance vectors scaled by
    ``feature_signal``; edges appear with probability ``p_in`` inside a community
    and ``p_out`` across.
    """

    num_nodes: int = 300
    num_classes: int = 3
    num_features: int = 32
    p_in: float = 0.08
    p_out: float = 0.005
    #: Distance scale of the community means relative to the unit noise.
    feature_signal: float = 0.3
    seed: int = 0


@dataclass
class SBMGraphsConfig:
    """A generated graph-classification set (needs no files): Erdős–Rényi graphs (class 0) against
    two-community stochastic block models of the same expected density (class 1)."""

    num_graphs: int = 300
    min_nodes: int = 8
    max_nodes: int = 24
    num_features: int = 8
    #: Edge probabilities inside and across the two communities of a class-1 graph.
    p_in: float = 0.5
    p_out: float = 0.05
    seed: int = 0


@dataclass
class TUConfig:
    """A TU graph-classification dataset in its raw text format (``<NAME>_A.txt`` etc.) in ``root``.

    Node features: the one-hot node labels (one block per column of
    ``<NAME>_node_labels.txt``, ``value - min`` as in torch-geometric's
    ``read_tu_data``) followed by ``<NAME>_node_attributes.txt``; edge features
    (``edge_attr``): the one-hot edge labels followed by the edge attributes.
    Graph labels are mapped to ``0..K-1`` in sorted order (MUTAG: -1 -> 0, 1 -> 1).

    Splits: ``split="stratified"`` (default) draws a seeded class-stratified
    ``train``/``val``/``test`` split of the graphs (``val_fraction``,
    ``test_fraction``); ``split="kfold"`` gives fold ``fold`` of a seeded
    stratified ``num_folds``-fold cross-validation as ``test`` and the other folds
    as ``train`` (the GIN / Xu et al. 2019 protocol; no ``val``). Every source
    also has ``all`` (every graph, in file order).
    """

    #: Folder holding ``<NAME>_A.txt``, ``<NAME>_graph_indicator.txt``, ``<NAME>_graph_labels.txt``, ...
    root: Optional[str] = None
    #: The file prefix (e.g. ``MUTAG``, ``PROTEINS``); inferred from the single ``*_A.txt`` in ``root`` when ``None``.
    name: Optional[str] = None
    #: ``stratified`` (train/val/test) or ``kfold`` (train/test of one fold).
    split: str = "stratified"
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    num_folds: int = 10
    #: The test fold of ``split=kfold`` / ``folds`` (0-based).
    fold: int = 0
    #: The core's cross-validation protocol (selfsup.folds): ``K`` is ``split=kfold num_folds=K``.
    folds: Optional[int] = None
    #: Seed of the split (independent of the run's seed, so a split stays fixed across runs).
    seed: int = 0
    #: Concatenate ``<NAME>_node_attributes.txt`` (when present) after the one-hot node labels.
    use_node_attributes: bool = True
    #: Give ``edge_attr`` from ``<NAME>_edge_labels.txt`` / ``_edge_attributes.txt`` (when present).
    use_edge_features: bool = True


@dataclass
class MoleculeCSVConfig:
    """A MoleculeNet-style CSV of SMILES and labels (0/1 tasks or regression targets), featurised with RDKit.

    Atoms become ``[atom type, chirality]`` and bonds ``[bond type, bond
    direction]`` index pairs (Hu et al. 2020, the features D-SLA uses). An empty
    label cell is a missing label (NaN). A SMILES RDKit cannot use is skipped
    with a warning naming its line; the count is ``info["skipped"]``. Splits:
    the deterministic Bemis-Murcko scaffold split (``train``/``val``/``test``) and ``all``.
    """

    #: A CSV file, or a folder holding exactly one ``*.csv`` (or the file named by ``file``).
    root: Optional[str] = None
    #: The CSV's file name inside ``root`` when ``root`` is a folder.
    file: Optional[str] = None
    #: Column holding the SMILES strings.
    smiles_column: str = "smiles"
    #: Label columns (tasks); empty: every column except ``smiles_column`` and ``ignore_columns``.
    label_columns: list[str] = field(default_factory=list)
    #: Columns that are neither SMILES nor labels (ids, names, fold columns).
    ignore_columns: list[str] = field(default_factory=list)
    #: Scaffold-split fractions (train, val, test), as in Hu et al. / D-SLA (80/10/10).
    split_fractions: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    #: Scaffolds with chirality (``MurckoScaffoldSmiles(includeChirality=True)``, as ``splitters.scaffold_split``).
    scaffold_chirality: bool = True
    #: A name for messages and ``info["name"]``; ``None``: the CSV's stem.
    name: Optional[str] = None
    #: What the label columns are: ``multilabel`` (0/1 tasks, empty = missing; masked ROC-AUC),
    #: ``regression`` (real-valued targets, e.g. ESOL solubility) or ``auto``: ``multilabel``
    #: when every label is 0, 1 or empty, else ``regression``. Recorded in ``info["label_tasks"]``.
    task: str = "auto"
    #: k-fold cross-validation (selfsup.folds): ``K >= 2`` replaces the scaffold split by fold
    #: ``fold`` of a seeded ``K``-fold split (stratified for one binary task) as ``test``.
    folds: Optional[int] = None
    #: The test fold when ``folds`` is set.
    fold: int = 0
    #: Seed of the folds.
    fold_seed: int = 0


@dataclass
class BBBPConfig(MoleculeCSVConfig):
    """MoleculeNet BBBP (blood-brain-barrier penetration): ``smiles,p_np``, one binary task."""

    label_columns: list[str] = field(default_factory=lambda: ["p_np"])
    name: Optional[str] = "bbbp"


@dataclass
class NodeMLPConfig:
    """An MLP node encoder: ``num_features -> hidden... -> embed_dim`` with ReLU, no activation on the output.

    Defaults are SDCN's / SCGC's autoencoder encoder (500-500-2000-10;
    ``gayanku/SCGC:models.py``, ``SDCN_AE`` / ``MLP``). No message passing: the
    graph enters SCGC only through its loss.
    """

    hidden_dims: list[int] = field(default_factory=lambda: [500, 500, 2000])
    embed_dim: int = 10


@dataclass
class GINConfig:
    """GIN with edge features of Hu et al. 2020 (the D-SLA encoder), built on torch-geometric.

    Defaults are D-SLA's pretraining GNN (``DongkiKim95/D-SLA:transferLearning_MoleculeNet_PPI/chem/model.py``
    ``GNN``, ``pretrain_DSLA.py`` arguments): 5 layers, width 300, JK ``last``,
    dropout 0, mean pooling (``GNN_graphpred(graph_pooling="mean")``). On a
    graph-level batch it returns one pooled embedding per graph; on a node-level
    (full-batch) batch one embedding per node.
    """

    num_layers: int = 5
    #: Width of every layer (and of the embedding, except with ``jk=concat``).
    hidden_dim: int = 300
    #: Dropout after every layer (0 in D-SLA pretraining; Hu et al. fine-tune with 0.5).
    dropout: float = 0.0
    #: Graph readout: ``mean`` (D-SLA) or ``sum`` (Xu et al.'s GIN).
    pooling: str = "mean"
    #: Jumping knowledge: ``last`` (D-SLA), ``sum``, ``max`` or ``concat`` (Hu et al.'s ``JK`` options).
    jk: str = "last"
    #: Embed the dataset's edge features (bond type/direction, TU edge labels) inside every layer.
    use_edge_features: bool = True


@dataclass
class GCNConfig:
    """A GCN (Kipf & Welling 2017) on node-level or graph-level data; ``None`` fields take the level's default.

    * Node level (one full-batch graph): torch-geometric ``GCNConv`` layers,
      symmetric normalisation D^-1/2 (A + I) D^-1/2, ReLU and dropout between
      layers, none after the last. Defaults: 2 layers, width 256.
    * Graph level (batches of graphs): Hu et al.'s ``GCNConv`` with edge
      embeddings, BatchNorm, then ``pooling`` per graph. Defaults: 5 layers, width 300.
    """

    #: Number of GCN layers; ``None``: 2 (node level) or 5 (graph level).
    num_layers: Optional[int] = None
    #: Width of every layer and of the embedding; ``None``: 256 (node level) or 300 (graph level).
    hidden_dim: Optional[int] = None
    dropout: float = 0.0
    #: Graph-level readout: ``mean`` or ``sum`` (unused on node-level data).
    pooling: str = "mean"
    #: Graph-level jumping knowledge: ``last``, ``sum``, ``max`` or ``concat``.
    jk: str = "last"
    #: Graph level: embed the dataset's edge features inside every layer.
    use_edge_features: bool = True


#: Per-dataset hyper-parameters (alpha, beta, order, tau) from the official README
#: (``gayanku/SCGC:README.md``, the ``python train.py --name cite ...`` lines). Cora is not
#: one of SCGC's datasets: it uses the CiteSeer values (the closest graph, also
#: a sparse citation network with bag-of-words features). ``default`` (every other
#: dataset, the generated SBM included) is ``train.py``'s argparse defaults
#: (``--alpha 2.0 --beta 0.1 --order 2 --tau 1.0``).
SCGC_PRESETS: dict[str, dict[str, dict[str, float]]] = {
    "scgc": {
        "citeseer": {"alpha": 1.0, "beta": 0.1, "order": 1, "tau": 0.25},
        "cora": {"alpha": 1.0, "beta": 0.1, "order": 1, "tau": 0.25},
        "default": {"alpha": 2.0, "beta": 0.1, "order": 2, "tau": 1.0},
    },
    "scgc-star": {
        "citeseer": {"alpha": 1.0, "beta": 0.1, "order": 1, "tau": 0.25},
        "cora": {"alpha": 1.0, "beta": 0.1, "order": 1, "tau": 0.25},
        "default": {"alpha": 2.0, "beta": 0.1, "order": 2, "tau": 1.0},
    },
}


@dataclass
class SCGCConfig:
    """SCGC (Kulatilleke et al. 2022, arXiv 2204.12656): neighbourhood-contrastive + DEC + reconstruction.

    ``alpha``/``beta``/``order``/``tau`` left at ``None`` take the per-dataset value
    of :data:`SCGC_PRESETS` (by ``data_info["name"]``).
    """

    #: Weight of the neighbourhood-contrastive loss.
    alpha: Optional[float] = None
    #: Weight of the DEC clustering loss KL(P||Q).
    beta: Optional[float] = None
    #: r: the contrastive target is Â^r (SCGC) or sum_{k<=r} Â^k (SCGC*).
    order: Optional[int] = None
    #: Inverse temperature: multiplies the cosine similarity (``Ncontrast(..., tau)``).
    tau: Optional[float] = None
    #: Weight of the reconstruction MSE (SCGC: 1; SCGC*: 0, it has no decoder term).
    reconstruction_weight: float = 1.0
    #: Student-t degrees of freedom (ν = 1 in the code).
    student_t_dof: float = 1.0
    #: Decoder widths (mirror of the encoder; SDCN: 2000-500-500).
    decoder_dims: list[int] = field(default_factory=lambda: [2000, 500, 500])
    #: Reconstruction-only warm-up steps that stand in for SDCN's pretrained autoencoder
    #: (``data/<name>.pkl``, which selfsup does not download). SDCN pretrains it for 30
    #: epochs of mini-batches of 256 with Adam 1e-3: 30 * ceil(3327 / 256) = 390 steps on CiteSeer.
    pretrain_steps: int = 390
    #: Nodes per warm-up step (a random subset of the graph each step; SDCN: batch 256).
    pretrain_batch_size: int = 256
    #: Learning rate of the warm-up phase (its own Adam; SDCN: 1e-3). The clustering phase uses trainer.lr.
    pretrain_lr: float = 1e-3
    #: k-means restarts when the cluster centres are initialised (``n_init=20`` in the code).
    kmeans_n_init: int = 20
    #: Number of clusters; ``None`` takes ``data_info["num_classes"]``.
    num_clusters: Optional[int] = None
    #: ``kmeans`` (default: the run's ``clustering`` evaluator, k-means on the L2-normalised
    #: encoder outputs) or ``argmax-q`` (also the official evaluation: at every main step, before
    #: its update, the argmax of Q over every node is scored against the labels and logged as
    #: ``q_acc``, ``q_nmi``, ``q_ari``, ``q_macro_f1`` in ``log.jsonl``; the official report is
    #: each metric's maximum over the steps, ``selfsup_graph.assignment.best_per_metric``).
    assign: str = "kmeans"


@dataclass
class SCGCStarConfig(SCGCConfig):
    """SCGC* (influence-augmented contrastive, IAC): encoder only, target sum_{k<=r} Â^k, no reconstruction."""

    reconstruction_weight: float = 0.0
