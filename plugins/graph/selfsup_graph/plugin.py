"""The graph plugin's entry point: hook implementations returning specs, nothing else.

Factories are lazy ``"module:attribute"`` paths and the configs are torch-free
(:mod:`selfsup_graph.configs`), so registering imports neither torch, scipy,
torch-geometric nor RDKit.
"""

from __future__ import annotations

from selfsup import DatasetSpec, EncoderSpec, ModalitySpec, ObjectiveSpec, hookimpl

from .configs import (
    BBBPConfig,
    GCNConfig,
    GINConfig,
    MoleculeCSVConfig,
    NodeMLPConfig,
    PlanetoidConfig,
    SBMConfig,
    SBMGraphsConfig,
    SCGCConfig,
    SCGCStarConfig,
    TUConfig,
)

from .dsla_config import DSLAConfig

__all__ = ["register_modalities", "register_encoders", "register_objectives", "register_datasets"]

#: The graph-level datasets' "SMILES CSV / TU folder -> batch" transform (``selfsup embed`` / ``export``).
GRAPH_INPUTS = "selfsup_graph.datasets.inputs:graph_inputs"

GRAPH = frozenset({"graph"})
#: What the graph-level components import (checked before their factories, with an install hint).
TORCH_GEOMETRIC = ("torch-geometric",)
MOLECULES = ("torch-geometric", "rdkit")

#: SCGC's optimisation (``gayanku/SCGC:train.py``, README): Adam at a constant learning rate,
#: full batch, 200 epochs (one epoch = one step here), lr 1e-4 as in the README's CiteSeer runs.
#: The objective's reconstruction warm-up (``objective_config.pretrain_steps``, 390 steps, its
#: own Adam at 1e-3) stands in for SDCN's pretrained autoencoder, so the budget is 390 + 200.
SCGC_TRAINER_DEFAULTS = {
    "optimizer": "adam",
    "lr": 1e-4,
    "weight_decay": 0.0,
    "schedule": "constant",
    "warmup_steps": 0,
    "max_epochs": 590,
    # SCGC reports the best epoch's clustering (``train.py`` evaluates every epoch); the core
    # keeps it apart from the final encoder's numbers (metrics.json "during_training").
    "eval_every": 10,
}


#: D-SLA's chem pretraining (``DongkiKim95/D-SLA:transferLearning_MoleculeNet_PPI/chem/pretrain_DSLA.py``
#: argument defaults and README command ``--lr 0.001``): Adam, lr 1e-3, weight decay 0, batch 256
#: molecules, 100 epochs, no schedule.
DSLA_TRAINER_DEFAULTS = {
    "optimizer": "adam",
    "lr": 1e-3,
    "weight_decay": 0.0,
    "batch_size": 256,
    "max_epochs": 100,
    "schedule": "constant",
    "warmup_steps": 0,
}


@hookimpl
def register_modalities() -> list[ModalitySpec]:
    return [
        ModalitySpec(
            name="graph",
            sample_unit="graphs",
            description="Attributed graphs: node-level (one whole graph, full batch) or graph-level (batches of graphs).",
            default_encoder="mlp",
            default_objective="scgc-star",
            default_dataset="sbm",
            default_evaluators=("clustering",),
            # Node clustering scores every node (split "all"), as SCGC does.
            overrides={"evaluator_config": {"clustering": {"split": "all"}}},
        )
    ]


@hookimpl
def register_encoders() -> list[EncoderSpec]:
    return [
        EncoderSpec(
            name="mlp",
            modality="graph",
            factory="selfsup_graph.encoders.mlp:build_node_mlp",
            config_cls=NodeMLPConfig,
            description="Node-wise MLP (SDCN/SCGC encoder 500-500-2000-10), no message passing.",
        ),
        EncoderSpec(
            name="gin",
            modality="graph",
            requires=TORCH_GEOMETRIC,
            factory="selfsup_graph.encoders.gnn:build_gin",
            config_cls=GINConfig,
            description="GIN with edge features (Hu et al. 2020 / D-SLA: 5 layers, 300 wide, JK last), mean or sum pooling.",
        ),
        EncoderSpec(
            name="gcn",
            modality="graph",
            requires=TORCH_GEOMETRIC,
            factory="selfsup_graph.encoders.gnn:build_gcn",
            config_cls=GCNConfig,
            description="GCN: full-batch GCNConv stack on node-level data; Hu et al.'s GCN + pooling on graph-level data.",
        ),
    ]


@hookimpl
def register_objectives() -> list[ObjectiveSpec]:
    return [
        ObjectiveSpec(
            name="scgc",
            modalities=GRAPH,
            factory="selfsup_graph.objectives.scgc:SCGC",
            config_cls=SCGCConfig,
            description="SCGC (Kulatilleke et al. 2022): neighbourhood contrast on Â^r + DEC + reconstruction.",
            trainer_defaults=SCGC_TRAINER_DEFAULTS,
        ),
        ObjectiveSpec(
            name="scgc-star",
            modalities=GRAPH,
            factory="selfsup_graph.objectives.scgc:SCGCStar",
            config_cls=SCGCStarConfig,
            description="SCGC* (influence-augmented contrast on sum of Â^k + DEC), encoder only.",
            trainer_defaults=SCGC_TRAINER_DEFAULTS,
        ),
        ObjectiveSpec(
            name="d-sla",
            modalities=GRAPH,
            factory="selfsup_graph.objectives.dsla:DSLA",
            config_cls=DSLAConfig,
            description="D-SLA (Kim et al. 2022): discriminate the original among perturbed candidates + edit-distance + margin losses.",
            trainer_defaults=DSLA_TRAINER_DEFAULTS,
            # graph-level batches: the GIN of the paper, and a generated graph set when no dataset is named
            default_encoder="gin",
            default_dataset="sbm-graphs",
        ),
    ]


@hookimpl
def register_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="sbm",
            modality="graph",
            factory="selfsup_graph.datasets.sbm:StochasticBlockModel",
            config_cls=SBMConfig,
            description="Generated stochastic block model with community-dependent Gaussian features; needs no files.",
        ),
        DatasetSpec(
            name="sbm-graphs",
            modality="graph",
            factory="selfsup_graph.datasets.sbm_graphs:SBMGraphs",
            config_cls=SBMGraphsConfig,
            description="Generated graph classification: Erdos-Renyi vs two-community SBM graphs; needs no files.",
        ),
        DatasetSpec(
            name="cora",
            modality="graph",
            input_transform=GRAPH_INPUTS,
            factory="selfsup_graph.datasets.planetoid:cora",
            config_cls=PlanetoidConfig,
            description="Cora citation graph (2708 nodes, 7 classes) from the Planetoid ind.cora.* files in data.root.",
        ),
        DatasetSpec(
            name="citeseer",
            modality="graph",
            input_transform=GRAPH_INPUTS,
            factory="selfsup_graph.datasets.planetoid:citeseer",
            config_cls=PlanetoidConfig,
            description="CiteSeer citation graph (3327 nodes, 6 classes) from the Planetoid ind.citeseer.* files in data.root.",
        ),
        DatasetSpec(
            name="planetoid",
            modality="graph",
            input_transform=GRAPH_INPUTS,
            factory="selfsup_graph.datasets.planetoid:Planetoid",
            config_cls=PlanetoidConfig,
            description="Any Planetoid graph (data.name: cora, citeseer, pubmed) from its ind.<name>.* files.",
        ),
        DatasetSpec(
            name="tu",
            modality="graph",
            requires=TORCH_GEOMETRIC,
            input_transform=GRAPH_INPUTS,
            factory="selfsup_graph.datasets.tu:TUDataset",
            config_cls=TUConfig,
            description="Any TU graph-classification dataset (data.name: MUTAG, PROTEINS, ...) from its raw <NAME>_*.txt files.",
        ),
        DatasetSpec(
            name="mutag",
            modality="graph",
            requires=TORCH_GEOMETRIC,
            input_transform=GRAPH_INPUTS,
            factory="selfsup_graph.datasets.tu:mutag",
            config_cls=TUConfig,
            description="MUTAG (188 molecules, 2 classes) from the TU text files MUTAG_*.txt in data.root.",
        ),
        DatasetSpec(
            name="proteins",
            modality="graph",
            requires=TORCH_GEOMETRIC,
            input_transform=GRAPH_INPUTS,
            factory="selfsup_graph.datasets.tu:proteins",
            config_cls=TUConfig,
            description="PROTEINS (1113 graphs, 2 classes) from the TU text files PROTEINS_*.txt in data.root.",
        ),
        DatasetSpec(
            name="molecule-csv",
            modality="graph",
            requires=MOLECULES,
            input_transform=GRAPH_INPUTS,
            factory="selfsup_graph.datasets.moleculenet:MoleculeCSV",
            config_cls=MoleculeCSVConfig,
            description="Any MoleculeNet-style CSV (SMILES + 0/1 label columns) via RDKit, Hu et al. atom/bond features, scaffold split.",
        ),
        DatasetSpec(
            name="bbbp",
            modality="graph",
            requires=MOLECULES,
            input_transform=GRAPH_INPUTS,
            factory="selfsup_graph.datasets.moleculenet:bbbp",
            config_cls=BBBPConfig,
            description="MoleculeNet BBBP (2039 molecules, smiles,p_np) from data.root, scaffold split 80/10/10.",
        ),
    ]
