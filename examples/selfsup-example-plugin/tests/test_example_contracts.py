"""selfsup's conformance kits, applied to every component of this plugin.

Each class inherits the kit's tests; the attributes say which component to
build (through the registry, exactly as ``pretrain`` does).
"""

from __future__ import annotations

from selfsup.testing import (
    DatasetContract,
    EncoderContract,
    EvaluatorContract,
    ObjectiveContract,
    PluginImportContract,
)

#: A small dataset keeps the kits fast; every kit builds it several times.
SMALL = {"train_size": 128, "val_size": 32, "test_size": 64}


class TestSyntheticSinesDataset(DatasetContract):
    modality = "example-series"
    dataset = "synthetic-sines"
    dataset_config = SMALL


class TestConv1dEncoder(EncoderContract):
    modality = "example-series"
    dataset = "synthetic-sines"
    dataset_config = SMALL
    encoder = "conv1d"


class TestConv1dEncoderMultichannel(EncoderContract):
    modality = "example-series"
    dataset = "synthetic-sines"
    dataset_config = {**SMALL, "num_channels": 3, "length": 50}
    encoder = "conv1d"
    encoder_config = {"depth": 2, "width": 8, "embed_dim": 16, "kernel_size": 5}


class TestTSSimCLRObjective(ObjectiveContract):
    modality = "example-series"
    dataset = "synthetic-sines"
    dataset_config = SMALL
    encoder = "conv1d"
    objective = "ts-simclr"


class TestLinearProbeOnTimeseries(EvaluatorContract):
    """The core's linear probe works on this plugin's data and encoder."""

    modality = "example-series"
    dataset = "synthetic-sines"
    dataset_config = SMALL
    encoder = "conv1d"
    evaluator = "linear-probe"
    evaluator_config = {"l2_grid": [1e-3, 1e-1], "max_iter": 50}


class TestExamplePluginImport(PluginImportContract):
    """Loading the plugin (``selfsup list``) must not import torch or numpy."""

    plugin_module = "selfsup_example.plugin"
    heavy_modules = ("torch", "numpy")
