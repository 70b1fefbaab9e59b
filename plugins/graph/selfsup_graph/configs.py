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
    "NodeMLPConfig",
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
class NodeMLPConfig:
    """An MLP node encoder: ``num_features -> hidden... -> embed_dim`` with ReLU, no activation on the output.

    Defaults are SDCN's / SCGC's autoencoder encoder (500-500-2000-10;
    ``gayanku/SCGC:models.py``, ``SDCN_AE`` / ``MLP``). No message passing: the
    graph enters SCGC only through its loss.
    """

    hidden_dims: list[int] = field(default_factory=lambda: [500, 500, 2000])
    embed_dim: int = 10


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


@dataclass
class SCGCStarConfig(SCGCConfig):
    """SCGC* (influence-augmented contrastive, IAC): encoder only, target sum_{k<=r} Â^k, no reconstruction."""

    reconstruction_weight: float = 0.0
