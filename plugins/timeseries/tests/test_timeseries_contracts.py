"""selfsup's conformance kits on every component of the timeseries plugin."""

from __future__ import annotations

from selfsup.testing import DatasetContract, EncoderContract, EvaluatorContract, ObjectiveContract, PluginImportContract

SMALL = {"train_size": 32, "test_size": 16, "length": 64}
TINY_ENCODER = {"n_block": 2, "base_filters": 8, "out_dim": 16}


class TestTimeseriesPluginImport(PluginImportContract):
    """Registering (``selfsup list``) imports neither torch, numpy nor PyWavelets."""

    plugin_module = "selfsup_timeseries.plugin"
    heavy_modules = ("torch", "numpy", "pywt")


class TestSyntheticPulses(DatasetContract):
    modality = "timeseries"
    dataset = "synthetic-pulses"
    dataset_config = SMALL


class TestResNet1D(EncoderContract):
    modality = "timeseries"
    dataset = "synthetic-pulses"
    dataset_config = {**SMALL, "num_channels": 3}
    encoder = "resnet1d"
    encoder_config = TINY_ENCODER


class TestFrameResNet1D(EncoderContract):
    modality = "timeseries"
    dataset = "synthetic-pulses"
    dataset_config = SMALL
    encoder = "frame-resnet1d"
    encoder_config = TINY_ENCODER


class TestFrameProjections(ObjectiveContract):
    modality = "timeseries"
    dataset = "synthetic-pulses"
    dataset_config = {**SMALL, "num_channels": 2}
    encoder = "frame-resnet1d"
    encoder_config = TINY_ENCODER
    objective = "frame-projections"
    objective_config = {"cwt_filters": 4, "num_scales": 16, "pretrain_steps": 1}


class TestSeriesSimCLR(ObjectiveContract):
    modality = "timeseries"
    dataset = "synthetic-pulses"
    dataset_config = SMALL
    encoder = "resnet1d"
    encoder_config = TINY_ENCODER
    objective = "series-simclr"


class TestRegressionProbeOnPulses(EvaluatorContract):
    modality = "timeseries"
    dataset = "synthetic-pulses"
    dataset_config = SMALL
    encoder = "resnet1d"
    encoder_config = TINY_ENCODER
    evaluator = "regression-probe"
