"""Frame projections against the official code (eth-siplab/Learning-with-FrameProjections @ 4461e91).

``scripts/compare_official.py`` builds our objective (frame-resnet1d with the official 8 blocks, the
official CWT width ``cwt_filters=32`` — the default is 16, a CPU budget —, T 128, C 1, B 8, torch seed 0,
input seed 1), copies every weight into the official ``IsoAlign``
and prints both losses. On 2026-12-07 (torch 2.11.0, PyWavelets 1.9.0) it printed:

    cwt_max_abs_diff: 3.4570694e-06      (pywt method="fft" here, "conv" there; float32)
    ft_max_abs_diff: 0
    loss_eval_official: 26.2864571       loss_eval_ours: 26.2864571
    loss_train_official: 23.068861       loss_train_ours: 23.068861   (dropout with one seed)
    stage2_official: 0.833538175         stage2_ours: 0.833538175   (after those two forwards)

The tests below rebuild the same model and input and check our numbers against the official ones.
"""

from __future__ import annotations

import pytest
import torch

from selfsup_timeseries.configs import FrameProjectionsConfig, FrameResNet1DConfig
from selfsup_timeseries.encoders.resnet1d import FrameResNet1D
from selfsup_timeseries.losses.frame_loss import frame_projection_loss
from selfsup_timeseries.objectives.frame_projections import FrameProjections

OFFICIAL = {"eval": 26.2864571, "train": 23.068861, "stage2": 0.833538175}
INFO = {"num_channels": 1, "length": 128}


def _model_and_input() -> tuple[FrameProjections, torch.Tensor]:
    torch.manual_seed(0)
    model = FrameProjections(FrameProjectionsConfig(cwt_filters=32), FrameResNet1D(FrameResNet1DConfig(n_block=8), INFO), INFO)
    return model, torch.randn(8, 1, 128, generator=torch.Generator().manual_seed(1))


def _stage1(model: FrameProjections, x: torch.Tensor) -> torch.Tensor:
    torch.manual_seed(123)
    return model.training_step({"x": x}, step=1, phase="pretrain")["loss"]


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_stage1_loss_equals_the_official_isoalign(mode):
    model, x = _model_and_input()
    model.train(mode == "train")
    with torch.no_grad():
        assert _stage1(model, x).item() == pytest.approx(OFFICIAL[mode], rel=2e-6)


def test_stage2_loss_equals_the_official_train_mappers():
    model, x = _model_and_input()
    with torch.no_grad():  # the script's sequence: an eval then a train forward (BatchNorm statistics move once)
        model.eval()
        _stage1(model, x)
        model.train()
        _stage1(model, x)
    with torch.no_grad():  # the mapper step puts the frozen model in eval mode itself
        assert model.training_step({"x": x}, step=1, phase="mappers")["loss"].item() == pytest.approx(OFFICIAL["stage2"], rel=2e-6)
    assert model.encoder.backbone.training  # and restores the modes afterwards


def test_training_step_is_the_pure_loss_on_the_three_projections():
    model, x = _model_and_input()
    model.eval()
    with torch.no_grad():
        h_t, h_w, h_f = model.backbone_embeddings({"x": x})
        terms = frame_projection_loss(model.projector(h_t), model.projector_spect(h_w), model.projector_ft(h_f),
                                      model.predictor_ft, model.predictor_cwt, 0.15)
        out = model.training_step({"x": x}, step=1, phase="pretrain")
    assert out["loss"].item() == pytest.approx(terms["loss"].item(), rel=1e-6)
    assert out["l1_ft"].item() < 0.01 * out["ntx_time_ft"].item()  # the L1 terms are tiny (/ B twice)


def test_stage2_trains_only_the_mappers_and_keeps_batchnorm_statistics():
    torch.manual_seed(0)
    info = {"num_channels": 2, "length": 64}
    model = FrameProjections(FrameProjectionsConfig(pretrain_steps=1, cwt_filters=8),
                             FrameResNet1D(FrameResNet1DConfig(n_block=2, base_filters=8, out_dim=32), info), info)
    phases = {p.name: p for p in model.phases()}
    assert phases["pretrain"].runs_at(1) and not phases["pretrain"].runs_at(2)
    assert phases["mappers"].runs_at(2) and not phases["mappers"].runs_at(1)
    mapper_ids = {id(p) for p in phases["mappers"].parameters}
    assert mapper_ids == {id(p) for m in (model.encoder.map_ft, model.encoder.map_cwt) for p in m.parameters()}
    assert not mapper_ids & {id(p) for p in phases["pretrain"].parameters}
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items() if "map_" not in k}
    loss = model.training_step({"x": torch.randn(16, 2, 64)}, step=2, phase="mappers")["loss"]
    loss.backward()
    assert all(p.grad is None for p in phases["pretrain"].parameters)
    assert all(p.grad is not None for p in phases["mappers"].parameters)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # no BatchNorm statistic moved


def test_the_inference_embedding_is_mapped_ft_time_mapped_cwt():
    torch.manual_seed(0)
    info = {"num_channels": 1, "length": 50}
    encoder = FrameResNet1D(FrameResNet1DConfig(n_block=2, out_dim=16), info).eval()
    batch = {"x": torch.randn(5, 1, 50)}
    h = encoder.time_embedding(batch)
    out = encoder(batch)
    assert encoder.embed_dim == 48 and out.shape == (5, 48)
    assert torch.equal(out[:, 16:32], h)
    assert torch.allclose(out[:, :16], encoder.map_ft(h)) and torch.allclose(out[:, 32:], encoder.map_cwt(h))
    assert not torch.allclose(out[:, :16], out[:, 32:])
