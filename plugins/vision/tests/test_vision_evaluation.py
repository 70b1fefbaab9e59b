"""Fréchet distance (closed form for Gaussians), KID (its definition), FD-local and the FID extractor."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfsup.errors import ComponentError, DatasetError
from selfsup.testing import EvaluatorContract
from selfsup_vision.configs import BigGANDiscriminatorConfig, DigitsConfig, FDLocalConfig, FIDConfig, ImageFolderConfig
from selfsup_vision.datasets.digits import Digits
from selfsup_vision.evaluation.distances import feature_statistics, frechet_distance, frechet_distance_of_features, kernel_distance
from selfsup_vision.evaluation.evaluators import FID, FDLocal, quantise
from selfsup_vision.evaluation.inception import FID_WEIGHTS_NAME, FIDInceptionV3, InceptionWeightsError, build_fid_inception
from selfsup_vision.networks.encoder import build_discriminator_trunk

CPU = torch.device("cpu")


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    var1, var2 = rng.uniform(0.1, 3.0, 5), rng.uniform(0.1, 3.0, 5)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(var1) - np.sqrt(var2)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-9)
    # one dimension: (μ₁ − μ₂)² + (σ₁ − σ₂)²
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[1.0]])) == pytest.approx(4.0 + 1.0)


def test_frechet_distance_of_full_covariances_and_samples():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 4))
    sigma = a @ a.T + np.eye(4)
    mu = rng.normal(size=4)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)
    # a rotation Q: Σ₂ = QΣQᵀ has the same spectrum; symmetric in its arguments
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    other = q @ sigma @ q.T
    assert frechet_distance(mu, sigma, mu + 1, other) == pytest.approx(frechet_distance(mu + 1, other, mu, sigma), rel=1e-8)
    # sample statistics converge to the closed form of the generating Gaussians
    x = rng.normal(0.0, 1.0, size=(20000, 3))
    y = rng.normal(0.5, 2.0, size=(20000, 3))
    closed = 3 * 0.5**2 + 3 * (1.0 - 2.0) ** 2
    assert frechet_distance_of_features(x, y) == pytest.approx(closed, rel=0.03)
    mu_x, cov_x = feature_statistics(torch.from_numpy(x))
    assert cov_x.shape == (3, 3) and np.allclose(mu_x, 0.0, atol=0.03)
    with pytest.raises(ComponentError, match="mismatched"):
        frechet_distance(mu, sigma, mu[:3], sigma[:3, :3])


def _mmd_by_definition(x: np.ndarray, y: np.ndarray) -> float:
    m, d = x.shape
    k = lambda a, b: (a @ b / d + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_equals_the_unbiased_mmd_definition_and_detects_shifts():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 3)), rng.normal(0.3, 1.0, size=(6, 3))
    # one subset holding every row: the estimate is the definition's
    assert kernel_distance(x, y, subsets=1, subset_size=6) == pytest.approx(_mmd_by_definition(x, y), rel=1e-10)
    same = kernel_distance(rng.normal(size=(500, 8)), rng.normal(size=(500, 8)), subsets=5, subset_size=500)
    shifted = kernel_distance(rng.normal(size=(500, 8)), rng.normal(0.5, 1.0, size=(500, 8)), subsets=5, subset_size=500)
    assert abs(same) < 0.01 < shifted


def test_quantise_maps_to_uint8_levels():
    x = torch.tensor([-1.5, -1.0, 0.0, 0.001, 1.0])
    levels = (quantise(x) + 1) * 127.5
    torch.testing.assert_close(levels, torch.tensor([0.0, 0.0, 128.0, 128.0, 255.0]))


def test_fd_local_ranks_real_data_below_an_untrained_generator():
    data = Digits(DigitsConfig())
    torch.manual_seed(0)
    trunk = build_discriminator_trunk(BigGANDiscriminatorConfig(channels=16, blocks=2), data.info)
    metrics = FDLocal(FDLocalConfig(num_samples=180)).evaluate(trunk, data, device=CPU, seed=0)
    assert metrics["fd_local_classifier_accuracy"] > 0.8
    assert metrics["fd_local_real"] * 10 < metrics["fd_local"]
    assert metrics["fd_local_kid_real"] < 0.1 * metrics["fd_local_kid"]


def test_fd_local_on_unlabelled_data_is_a_named_error(tmp_path):
    from selfsup_vision_fixtures import write_png

    from selfsup_vision.datasets.folder import ImageFolder

    rng = np.random.default_rng(0)
    for i in range(6):
        write_png(tmp_path / f"{i}.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    data = ImageFolder(ImageFolderConfig(root=str(tmp_path), val_fraction=0.0, test_fraction=0.5))
    trunk = build_discriminator_trunk(BigGANDiscriminatorConfig(channels=8, blocks=1, downsample_blocks=1), data.info)
    with pytest.raises(DatasetError, match="unlabelled"):
        FDLocal(FDLocalConfig(num_samples=3, kid_subset_size=3)).evaluate(trunk, data, device=CPU, seed=0)


def test_missing_inception_weights_name_the_file_and_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFSUP_INCEPTION_WEIGHTS", str(tmp_path / "nowhere.pth"))
    with pytest.raises(InceptionWeightsError, match=FID_WEIGHTS_NAME) as error:
        FID(FIDConfig()).evaluate(None, Digits(DigitsConfig()), device=CPU, seed=0)  # type: ignore[arg-type]
    assert "evaluator_config.fid.inception_weights" in str(error.value) and "nowhere.pth" in str(error.value)
    assert isinstance(error.value, ComponentError)
    bad = tmp_path / "bad.pth"
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    with pytest.raises(InceptionWeightsError, match="not an Inception-v3 FID state_dict"):
        build_fid_inception(str(bad))


def test_fid_extractor_loads_a_state_dict_file_and_gives_pool3_features(tmp_path):
    torch.manual_seed(0)
    reference = FIDInceptionV3()
    path = tmp_path / "weights.pth"
    torch.save(reference.net.state_dict(), path)
    with pytest.warns(UserWarning, match="not comparable"):
        model, sha = build_fid_inception(str(path))
    assert len(sha) == 64
    images = torch.rand(2, 1, 16, 16) * 2 - 1
    features = model(images)
    assert features.shape == (2, 2048) and torch.isfinite(features).all()
    torch.testing.assert_close(features, reference.eval()(images))
    # the FID graph's pool branches: mean without padding in A/C/E, max in the last E block
    assert [type(getattr(model.net, n)).__name__ for n in ("Mixed_5b", "Mixed_6e", "Mixed_7b", "Mixed_7c")] == [
        "FIDInceptionA", "FIDInceptionC", "FIDInceptionEMean", "FIDInceptionEMax"]


class TestFDLocalContract(EvaluatorContract):
    modality = "vision"
    dataset = "digits"
    encoder = "biggan-d"
    encoder_config = {"channels": 8, "blocks": 1, "downsample_blocks": 1}
    evaluator = "fd-local"
    evaluator_config = {"num_samples": 64, "classifier_epochs": 1, "kid_subsets": 2, "kid_subset_size": 32}
