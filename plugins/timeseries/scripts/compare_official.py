"""Compare selfsup-timeseries' frame projections with the official code on one fixed input.

Usage (the official repository is fetched separately and never committed)::

    python plugins/timeseries/scripts/compare_official.py /tmp/timeseries/official

Builds our objective (``frame-resnet1d`` with the official 8 blocks, T = 128, C = 1, B = 8, seed 0),
copies every weight into the official ``IsoAlign`` (``ResNet1D``, ``UNET_2D_simp``,
``FourierAutoencoder``; the official ``dense``/decoder/unused layers keep their own init), computes
the official views with ``utils.WaveletTransform``/``FourierTransform`` and prints both losses
(eval mode, and train mode with the same torch seed before each forward), the views' largest
differences, and the stage-2 mapper losses. ``seaborn`` (imported by the official ``utils.py``
for plotting only) is replaced by an empty module when it is not installed.
"""

from __future__ import annotations

import sys
import types

import torch


def main(official: str) -> dict[str, float]:
    sys.path.insert(0, official)
    if "seaborn" not in sys.modules:
        try:
            import seaborn  # noqa: F401
        except ImportError:
            sys.modules["seaborn"] = types.ModuleType("seaborn")
    from models.frameworks import IsoAlign  # type: ignore[import-not-found]
    from models.models_nc import ConvMapping as OfficialMapping  # type: ignore[import-not-found]
    from models.models_nc import FourierAutoencoder, FourierEncoder as OfficialFT, ResNet1D as OfficialResNet  # type: ignore[import-not-found]
    from models.models_nc import UNET_2D_simp  # type: ignore[import-not-found]
    from utils import FourierTransform, WaveletTransform  # type: ignore[import-not-found]

    from selfsup_timeseries.configs import FrameProjectionsConfig, FrameResNet1DConfig
    from selfsup_timeseries.encoders.resnet1d import FrameResNet1D
    from selfsup_timeseries.losses.frame_loss import mapper_loss
    from selfsup_timeseries.objectives.frame_projections import FrameProjections

    B, C, T = 8, 1, 128
    info = {"num_channels": C, "length": T}
    torch.manual_seed(0)
    ours = FrameProjections(FrameProjectionsConfig(cwt_filters=32), FrameResNet1D(FrameResNet1DConfig(n_block=8), info), info)
    x = torch.randn(B, C, T, generator=torch.Generator().manual_seed(1))

    backbone = OfficialResNet(in_channels=C, base_filters=32, kernel_size=5, stride=2, groups=1, n_block=8,
                              n_classes=2, downsample_gap=2, increasefilter_gap=4, output_dim=128, backbone=True)
    spect = UNET_2D_simp(input_channels=C, spect_freq=48, spect_time=T, output_channels=C, kernel_size=5, layer_n=32)
    ft = FourierAutoencoder(encoder=OfficialFT(in_channels=C, in_length=T, out_channels=C, kernel_size=3),
                            input_channels=C, in_length=T)
    official = IsoAlign(backbone=backbone, spect_encoder=spect, FT_encoder=ft, DEVICE="cpu", dim=128, batch_size=B)

    state = {}
    for key, value in ours.state_dict().items():
        key = key.replace("encoder.backbone.", "encoder.", 1) if key.startswith("encoder.backbone.") else key
        key = key.replace("cwt_encoder.", "spect_encoder.", 1).replace("ft_encoder.", "FT_encoder.encoder.", 1)
        key = key.replace("projector_ft.", "projector_FT.", 1).replace("predictor_ft.", "predictor_FT.", 1)
        state[key] = value
    state = {k: v for k, v in state.items() if not k.startswith("encoder.map_")}
    missing, unexpected = official.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    # never used by the official forward: the classifier head, the autoencoder's decoders, FourierEncoder.fc,
    # and the BatchNorms of the first block / of blocks built with use_bn=False (left out of ours)
    unused = ("encoder.dense.", "FT_encoder.decoder_", "FT_encoder.encoder.fc.")
    leftover = [k for k in missing if not k.startswith(unused) and ".bn1." not in k and ".bn2." not in k]
    assert not [k for k in missing if ".bn" in k and "basicblock_list.0.bn1" not in k and "FT_encoder" not in k]
    assert not leftover, leftover

    cwt_official, _, _ = WaveletTransform(wavelet="cmor1-1", fs=25).compute_cwt(x[:, 0, :])  # (B, F, T, 1)
    ft_official = FourierTransform(fs=25).compute_FT(x)  # (B, C, F)
    cwt_ours, ft_ours = ours.views(x)
    out = {
        "cwt_max_abs_diff": float((cwt_ours - cwt_official.permute(0, 3, 1, 2)).abs().max()),
        "ft_max_abs_diff": float((ft_ours - ft_official).abs().max()),
    }
    from selfsup_timeseries.losses.frame_loss import frame_projection_loss

    for mode in ("eval", "train"):
        ours.train(mode == "train")
        official.train(mode == "train")
        with torch.no_grad():
            torch.manual_seed(123)
            loss_official = official(x, cwt_official, ft_official)
            torch.manual_seed(123)
            h_t, h_w, h_f = ours.backbone_embeddings({"x": x})
            terms = frame_projection_loss(ours.projector(h_t), ours.projector_spect(h_w), ours.projector_ft(h_f),
                                          ours.predictor_ft, ours.predictor_cwt, 0.15)
        out[f"loss_{mode}_official"] = float(loss_official)
        out[f"loss_{mode}_ours"] = float(terms["loss"])
    # stage 2: the official train_mappers' losses with the same mappers
    ours.eval()
    official.eval()
    with torch.no_grad():
        _, time_emb = official.encoder(x.transpose(2, 1))
        _, cwt_emb = official.spect_encoder(cwt_official.permute(0, 3, 1, 2))
        _, ft_emb = official.FT_encoder(ft_official)
        map_ft, map_cwt = OfficialMapping(128, 1, 3), OfficialMapping(128, 1, 3)
        map_ft.load_state_dict(ours.encoder.map_ft.state_dict())
        map_cwt.load_state_dict(ours.encoder.map_cwt.state_dict())
        official_stage2 = torch.nn.L1Loss()(map_ft(time_emb), ft_emb) + torch.nn.L1Loss()(map_cwt(time_emb), cwt_emb)
        h_t, h_w, h_f = ours.backbone_embeddings({"x": x})
        ours_stage2 = mapper_loss(ours.encoder.map_ft(h_t), h_f, ours.encoder.map_cwt(h_t), h_w)["loss"]
    out["stage2_official"], out["stage2_ours"] = float(official_stage2), float(ours_stage2)
    return out


if __name__ == "__main__":
    for name, value in main(sys.argv[1]).items():
        print(f"{name}: {value:.9g}")
