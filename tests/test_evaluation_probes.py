"""The probes (linear, k-NN, ridge, MLP) against scikit-learn (feature extraction: ``test_evaluation_features.py``)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs, make_circles, make_classification
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from selfsup.errors import ConfigError, DatasetError
from selfsup.evaluation import (
    KNN,
    KNNConfig,
    LinearProbe,
    LinearProbeConfig,
    MLPProbe,
    MLPProbeConfig,
    RegressionProbe,
    RegressionProbeConfig,
    fit_logistic_regression,
    fit_mlp_classifier,
    fit_ridge,
    knn_predict,
    penalised_binary_cross_entropy,
    penalised_cross_entropy,
    ridge_regression,
)

pytestmark = pytest.mark.usefixtures("torch_single_thread")

CPU = torch.device("cpu")


def _t(array: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(array), dtype=dtype)


def _splits(x: np.ndarray, y: np.ndarray, sizes: dict[str, int], label_dtype=torch.int64) -> dict:
    out, start = {}, 0
    for name, size in sizes.items():
        out[name] = (_t(x[start : start + size]), _t(y[start : start + size], label_dtype))
        start += size
    return out


@pytest.fixture
def blobs_source(make_eval_source):
    x, y = make_blobs(600, n_features=8, centers=4, cluster_std=2.5, random_state=0)
    return make_eval_source(_splits(x, y, {"train": 400, "val": 100, "test": 100}), info={"num_classes": 4})


# --------------------------------------------------------------------------- linear probe
def _sklearn_logreg_accuracy(xt, yt, xs, ys, l2: float) -> float:
    scaler = StandardScaler().fit(xt)
    # mean CE + (l2/2)||W||^2  <=>  C * sum CE + 1/2 ||W||^2 with C = 1 / (l2 N)
    model = LogisticRegression(C=1.0 / (l2 * len(xt)), max_iter=5000).fit(scaler.transform(xt), yt)
    return float(model.score(scaler.transform(xs), ys))


@pytest.mark.parametrize(
    "dataset",
    [
        lambda: make_blobs(1500, n_features=20, centers=5, cluster_std=4.0, random_state=0),
        lambda: make_classification(
            3000, n_features=20, n_informative=10, n_classes=8, weights=[0.5] + [0.5 / 7] * 7, random_state=0
        ),
    ],
    ids=["separable-blobs", "imbalanced-8-class"],
)
def test_logistic_regression_matches_sklearn(dataset) -> None:
    x, y = dataset()
    n_train, n_val = int(len(x) * 0.6), int(len(x) * 0.2)
    xt, yt = x[:n_train], y[:n_train]
    xv, yv = x[n_train : n_train + n_val], y[n_train : n_train + n_val]
    xs, ys = x[n_train + n_val :], y[n_train + n_val :]
    model, l2 = fit_logistic_regression(_t(xt), _t(yt, torch.int64), _t(xv), _t(yv, torch.int64))
    assert l2 in LinearProbeConfig().l2_grid
    accuracy = float((model(_t(xs)).numpy() == ys).mean())
    assert accuracy == pytest.approx(_sklearn_logreg_accuracy(xt, yt, xs, ys, l2), abs=0.02)


def test_penalised_cross_entropy_hand_computed() -> None:
    # X = [[1, 0], [0, 2]], W = [[0.5, 0], [0, 0]], b = 0, y = [0, 1], l2 = 0.1:
    # Z = [[0.5, 0], [0, 0]], P[0] = [s, 1 - s] with s = sigmoid(0.5) = 0.6224593, P[1] = [0.5, 0.5];
    # L = -(log s + log 0.5) / 2 + 0.05 * 0.25 = 0.5961121;
    # G = (P - onehot) / 2 = [[(s - 1)/2, (1 - s)/2], [0.25, -0.25]];
    # dW = X^T G + 0.1 W = [[(s - 1)/2 + 0.05, (1 - s)/2], [0.5, -0.5]]; db = G[0] + G[1].
    x_t = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # X^T
    weight = torch.tensor([[0.5, 0.0], [0.0, 0.0]])
    loss, grad_weight, grad_bias = penalised_cross_entropy(x_t, torch.tensor([0, 1]), weight, torch.zeros(2), 0.1)
    assert float(loss) == pytest.approx(0.5961121, abs=1e-6)
    expected_weight = torch.tensor([[-0.1387703, 0.1887703], [0.5, -0.5]])
    torch.testing.assert_close(grad_weight, expected_weight, atol=1e-6, rtol=0)
    torch.testing.assert_close(grad_bias, torch.tensor([0.0612297, -0.0612297]), atol=1e-6, rtol=0)


def test_penalised_cross_entropy_gradient_equals_autograd() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(257, 13, generator=generator)
    y = torch.randint(0, 4, (257,), generator=generator)
    weight = torch.randn(13, 4, generator=generator, requires_grad=True)
    bias = torch.randn(4, generator=generator, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(x @ weight + bias, y) + 0.5 * 0.3 * weight.pow(2).sum()
    expected.backward()
    loss, grad_weight, grad_bias = penalised_cross_entropy(
        x.t().contiguous(), y, weight.detach(), bias.detach(), 0.3
    )
    torch.testing.assert_close(loss, expected.detach(), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(grad_weight, weight.grad, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(grad_bias, bias.grad, atol=1e-6, rtol=1e-5)


def test_logistic_regression_solution_matches_sklearn_coefficients() -> None:
    # One l2, no selection: the minimiser of the same objective as scikit-learn's with C = 1 / (l2 N).
    x, y = make_classification(600, n_features=6, n_informative=4, n_classes=3, random_state=3)
    l2 = 1e-2
    model, _ = fit_logistic_regression(_t(x), _t(y, torch.int64), None, None, l2_grid=(l2,))
    scaled = StandardScaler().fit_transform(x)
    reference = LogisticRegression(C=1.0 / (l2 * len(x)), tol=1e-10, max_iter=10_000).fit(scaled, y)
    # softmax is invariant to a shift shared by all classes; the penalty centres W's columns, not b
    bias = model.bias.numpy() - model.bias.numpy().mean()
    np.testing.assert_allclose(model.weight.numpy().T, reference.coef_, atol=2e-4)
    np.testing.assert_allclose(bias, reference.intercept_ - reference.intercept_.mean(), atol=2e-4)


def test_penalised_binary_cross_entropy_hand_computed() -> None:
    # X = [[1, 0], [0, 2]], u = [1, -0.5], c = 0.25, y = [1, 0], l2 = 0.2: s = [1.25, -0.75];
    # L = ((softplus(1.25) - 1.25) + softplus(-0.75)) / 2 + (0.2 / 4) * 1.25
    #   = (0.2519289 + 0.3868710) / 2 + 0.0625 = 0.3819000;
    # r = (sigmoid(s) - y) / 2 = [(0.7773000 - 1) / 2, 0.3208213 / 2] = [-0.1113500, 0.1604106];
    # dL/du = X^T r + 0.1 u = [-0.1113500 + 0.1, 2 * 0.1604106 - 0.05]; dL/dc = r_0 + r_1.
    x_t = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    loss, grad_weight, grad_bias = penalised_binary_cross_entropy(
        x_t, torch.tensor([1.0, 0.0]), torch.tensor([1.0, -0.5]), torch.tensor([0.25]), 0.2
    )
    assert float(loss) == pytest.approx(0.3819000, abs=1e-6)
    torch.testing.assert_close(grad_weight, torch.tensor([-0.0113500, 0.2708213]), atol=1e-6, rtol=0)
    torch.testing.assert_close(grad_bias, torch.tensor([0.0490606]), atol=1e-6, rtol=0)


def test_penalised_binary_cross_entropy_is_the_two_column_objective_at_opposite_columns() -> None:
    generator = torch.Generator().manual_seed(1)
    x_t = torch.randn(7, 300, generator=generator)
    y = torch.randint(0, 2, (300,), generator=generator)
    u, c = torch.randn(7, generator=generator), torch.randn(1, generator=generator)
    loss, grad_u, grad_c = penalised_binary_cross_entropy(x_t, y.float(), u, c, 0.3)
    weight, bias = torch.stack([-u / 2, u / 2], dim=1), torch.cat([-c / 2, c / 2])
    two_loss, two_grad_weight, two_grad_bias = penalised_cross_entropy(x_t, y, weight, bias, 0.3)
    torch.testing.assert_close(loss, two_loss, atol=1e-6, rtol=1e-6)
    # chain rule through W = [-u/2, u/2], b = [-c/2, c/2]
    torch.testing.assert_close(grad_u, (two_grad_weight[:, 1] - two_grad_weight[:, 0]) / 2, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(grad_c, (two_grad_bias[1:] - two_grad_bias[:1]) / 2, atol=1e-6, rtol=1e-5)


def test_binary_logistic_regression_matches_sklearn_coefficients() -> None:
    # mean CE + (l2/4)||u||^2 is scikit-learn's binary objective with C = 2 / (l2 N)
    x, y = make_classification(500, n_features=6, n_informative=4, random_state=4)
    l2 = 1e-2
    model, _ = fit_logistic_regression(_t(x), _t(y, torch.int64), None, None, l2_grid=(l2,))
    scaled = StandardScaler().fit_transform(x)
    reference = LogisticRegression(C=2.0 / (l2 * len(x)), tol=1e-10, max_iter=10_000).fit(scaled, y)
    weight, bias = model.weight.numpy(), model.bias.numpy()
    np.testing.assert_allclose(weight[:, 0], -weight[:, 1], atol=1e-7)  # the penalty's optimum
    np.testing.assert_allclose(weight[:, 1] - weight[:, 0], reference.coef_[0], atol=2e-4)
    np.testing.assert_allclose(bias[1] - bias[0], reference.intercept_[0], atol=2e-4)


def test_logistic_regression_chooses_l2_from_the_data() -> None:
    chosen = []
    for x, y in [
        make_blobs(1000, n_features=20, centers=5, cluster_std=4.0, random_state=0),  # separable: ties -> largest
        make_classification(
            2500, n_features=20, n_informative=10, n_classes=8, weights=[0.5] + [0.5 / 7] * 7, random_state=0
        ),  # strong shrinkage favours the majority class
    ]:
        n = len(x) * 3 // 4
        _, l2 = fit_logistic_regression(_t(x[:n]), _t(y[:n], torch.int64), _t(x[n:]), _t(y[n:], torch.int64))
        chosen.append(l2)
    assert chosen[0] == 1.0
    assert chosen[1] < 0.1


def test_logistic_regression_is_invariant_to_feature_scale() -> None:
    x, y = make_blobs(400, n_features=5, centers=3, cluster_std=3.0, random_state=1)
    y_t = _t(y, torch.int64)
    a, _ = fit_logistic_regression(_t(x[:300]), y_t[:300], None, None, l2_grid=(1e-2,))
    b, _ = fit_logistic_regression(_t(x[:300] * 1000 + 7), y_t[:300], None, None, l2_grid=(1e-2,))
    assert torch.equal(a(_t(x[300:])), b(_t(x[300:] * 1000 + 7)))
    with pytest.raises(ConfigError, match="validation data"):
        fit_logistic_regression(_t(x), y_t, None, None, l2_grid=(1e-2, 1e-1))


@pytest.mark.parametrize("with_val", [True, False])
def test_linear_probe_evaluate(make_eval_source, identity_encoder, with_val) -> None:
    x, y = make_blobs(700, n_features=8, centers=4, cluster_std=1.5, random_state=2)
    sizes = {"train": 500, "val": 100, "test": 100} if with_val else {"train": 600, "test": 100}
    source = make_eval_source(_splits(x, y, sizes), info={"num_classes": 4})
    probe = LinearProbe(LinearProbeConfig(l2_grid=[1e-3, 1e-1], widen=0))  # lists are accepted
    assert probe.split == "test" and probe.settings()["l2_grid"] == [1e-3, 1e-1]
    state = torch.get_rng_state()
    result = probe.evaluate(identity_encoder(8), source, device=CPU, seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    assert set(result) == {"accuracy", "macro_f1", "l2", "l2_at_edge"}  # l2_at_edge: new (grids widen)
    assert all(type(v) is float for v in result.values())
    assert result["accuracy"] > 0.9 and result["l2"] in (1e-3, 1e-1)
    assert probe.evaluate(identity_encoder(8), source, device=CPU, seed=0) == result


def test_linear_probe_config_validation() -> None:
    with pytest.raises(ConfigError, match="l2_grid"):
        LinearProbeConfig(l2_grid=())
    with pytest.raises(ConfigError, match="val_fraction"):
        LinearProbeConfig(val_fraction=0.0)
    with pytest.raises(ConfigError, match="max_iter"):
        LinearProbeConfig(max_iter=0)


# --------------------------------------------------------------------------- k-NN


@pytest.mark.parametrize("k", [1, 5, 10])
def test_uniform_knn_matches_sklearn_cosine(k: int) -> None:
    rng = np.random.default_rng(k)
    bank = rng.normal(size=(300, 16))
    labels = rng.integers(0, 5, size=300)
    bank[:, :5] += np.eye(5)[labels] * 2  # some class structure
    queries = rng.normal(size=(200, 16))
    queries[:, :5] += np.eye(5)[rng.integers(0, 5, size=200)] * 2
    ours = knn_predict(_t(bank), _t(labels, torch.int64), _t(queries), k=k, weighting="uniform")
    reference = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute").fit(bank, labels)
    np.testing.assert_array_equal(ours.numpy(), reference.predict(queries))


def test_weighted_knn_hand_computed() -> None:
    bank = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]]) * torch.tensor([[3.0], [1.0], [2.0], [1.0]])
    labels = torch.tensor([0, 1, 1, 2])
    query = torch.tensor([[2.0, 0.0]])  # cosine similarities 1.0, 0.8, 0.6, 0.0
    # T = 0.1: class 0 gets e^10 = 22026 > class 1 e^8 + e^6 = 3384.
    assert knn_predict(bank, labels, query, k=3, temperature=0.1).item() == 0
    # T = 1: class 0 gets e^1 = 2.72 < class 1 e^0.8 + e^0.6 = 4.05.
    assert knn_predict(bank, labels, query, k=3, temperature=1.0).item() == 1
    # Majority vote: class 1 (two of three neighbours).
    assert knn_predict(bank, labels, query, k=3, weighting="uniform").item() == 1
    # Tiny temperatures neither overflow nor underflow to an all-zero vote.
    assert knn_predict(bank, labels, query, k=4, temperature=1e-4).item() == 0


def test_knn_evaluator(blobs_source, identity_encoder) -> None:
    knn = KNN(KNNConfig(k=5))
    result = knn.evaluate(identity_encoder(8), blobs_source, device=CPU, seed=0)
    assert set(result) == {"accuracy", "macro_f1"} and all(type(v) is float for v in result.values())
    assert result["accuracy"] > 0.85
    assert knn.evaluate(identity_encoder(8), blobs_source, device=CPU, seed=123) == result
    with pytest.warns(UserWarning, match="exceeds the 400 training rows"):
        KNN(KNNConfig(k=1000)).evaluate(identity_encoder(8), blobs_source, device=CPU, seed=0)
    with pytest.raises(ConfigError, match="weighting"):
        KNNConfig(weighting="gaussian")


# --------------------------------------------------------------------------- ridge


@pytest.mark.parametrize("targets", [1, 3])
@pytest.mark.parametrize("alpha", [0.01, 3.0, 500.0])
def test_ridge_regression_matches_sklearn(targets: int, alpha: float) -> None:
    rng = np.random.default_rng(targets)
    x = rng.normal(size=(120, 15)) * rng.uniform(0.1, 10, size=15) + 3
    y = x @ rng.normal(size=(15, targets)) + rng.normal(size=(120, targets))
    y = y[:, 0] if targets == 1 else y
    coef, intercept = ridge_regression(_t(x, torch.float64), _t(y, torch.float64), alpha)
    reference = Ridge(alpha=alpha).fit(x, y)
    np.testing.assert_allclose(coef.numpy().T, reference.coef_, atol=1e-4)
    np.testing.assert_allclose(intercept.numpy(), reference.intercept_, atol=1e-4)


def test_fit_ridge_standardised_coefficients_match_sklearn_and_alpha_follows_noise() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=30)
    chosen = {}
    for noise, n in [(0.01, 2000), (30.0, 60)]:
        x = rng.normal(size=(n + 500, 30)) * 4 + 1
        y = 1000 * (x @ w + noise * rng.normal(size=n + 500)) + 50
        model, alpha = fit_ridge(_t(x[:n]), _t(y[:n]), _t(x[n:]), _t(y[n:]))
        chosen[noise] = alpha
        xs = StandardScaler().fit_transform(x[:n].astype(np.float32))
        ys = (y[:n] - y[:n].mean()) / y[:n].std()
        reference = Ridge(alpha=alpha).fit(xs, ys)
        np.testing.assert_allclose(model.coef.numpy()[:, 0], reference.coef_, atol=1e-4)
        assert model(_t(x[n:])).shape == (500,)
    assert chosen[0.01] < chosen[30.0]


@pytest.mark.parametrize("with_val", [True, False])
def test_regression_probe_reports_original_units(make_eval_source, identity_encoder, with_val) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(800, 6))
    y = x @ rng.normal(size=6) + 0.1 * rng.normal(size=800)
    sizes = {"train": 600, "val": 100, "test": 100} if with_val else {"train": 700, "test": 100}
    results = []
    for scale in (1.0, 1000.0):
        source = make_eval_source(_splits(x, y * scale, sizes, torch.float32))
        results.append(RegressionProbe().evaluate(identity_encoder(6), source, device=CPU, seed=0))
    assert set(results[0]) == {"r2", "rmse", "mae", "alpha", "alpha_at_edge"}  # mae, alpha_at_edge: new
    assert all(type(v) is float for v in results[0].values())
    assert results[0]["r2"] > 0.95
    assert results[1]["r2"] == pytest.approx(results[0]["r2"], abs=1e-5)
    assert results[1]["rmse"] == pytest.approx(1000 * results[0]["rmse"], rel=1e-3)
    with pytest.raises(ConfigError, match="alpha_grid"):
        RegressionProbeConfig(alpha_grid=[-1.0])


# --------------------------------------------------------------------------- MLP


def test_mlp_learns_nonlinear_boundary_deterministically() -> None:
    x, y = make_circles(1200, noise=0.05, factor=0.5, random_state=0)
    xt, yt = _t(x[:800]), _t(y[:800], torch.int64)
    xv, yv = _t(x[800:1000]), _t(y[800:1000], torch.int64)
    xs, ys = _t(x[1000:]), y[1000:]
    state = torch.get_rng_state()
    kwargs = dict(hidden=(32, 32), epochs=60, batch_size=64, lr=1e-2, patience=10, seed=0)
    model = fit_mlp_classifier(xt, yt, xv, yv, **kwargs)
    assert torch.equal(torch.get_rng_state(), state), "the global RNG must not move"
    accuracy = float((model(xs).numpy() == ys).mean())
    linear, _ = fit_logistic_regression(xt, yt, None, None, l2_grid=(1e-4,))
    assert accuracy > 0.95
    assert float((linear(xs).numpy() == ys).mean()) < 0.75  # the task really is non-linear
    again = fit_mlp_classifier(xt, yt, xv, yv, **kwargs)
    assert all(torch.equal(a, b) for a, b in zip(model.weights, again.weights, strict=True))
    other = fit_mlp_classifier(xt, yt, xv, yv, **{**kwargs, "seed": 1})
    assert not torch.equal(model.weights[0], other.weights[0])


def test_mlp_early_stopping_keeps_best_epoch() -> None:
    x, y = make_blobs(600, n_features=4, centers=2, cluster_std=0.5, random_state=0)  # trivially separable
    model = fit_mlp_classifier(
        _t(x[:400]), _t(y[:400], torch.int64), _t(x[400:]), _t(y[400:], torch.int64), epochs=500, patience=3
    )
    assert model.val_accuracy == 1.0
    assert model.epochs_run < 500 and model.epochs_run - model.best_epoch == 3
    no_val = fit_mlp_classifier(_t(x[:400]), _t(y[:400], torch.int64), None, None, epochs=4)
    assert no_val.epochs_run == 4


def test_mlp_probe_evaluate(blobs_source, identity_encoder) -> None:
    probe = MLPProbe(MLPProbeConfig(hidden=[64], epochs=20))
    assert probe.settings()["hidden"] == [64]
    result = probe.evaluate(identity_encoder(8), blobs_source, device=CPU, seed=0)
    assert set(result) == {"accuracy", "macro_f1"} and all(type(v) is float for v in result.values())
    assert result["accuracy"] > 0.85
    assert probe.evaluate(identity_encoder(8), blobs_source, device=CPU, seed=0) == result
    with pytest.raises(ConfigError, match="dropout"):
        MLPProbeConfig(dropout=1.0)


# --------------------------------------------------------------------------- shared contract


@pytest.mark.parametrize(
    "evaluator",
    [
        LinearProbe(LinearProbeConfig(max_iter=50)),
        KNN(),
        MLPProbe(MLPProbeConfig(epochs=3, hidden=(16,))),
    ],
    ids=lambda e: type(e).__name__,
)
def test_evaluators_need_labels_and_leave_global_rng_alone(evaluator, make_eval_source, identity_encoder) -> None:
    assert dataclasses.asdict(evaluator.config) == {
        k: tuple(v) if isinstance(v, list) else v for k, v in evaluator.settings().items()
    }
    rng = np.random.default_rng(0)
    labelled = make_eval_source(
        {s: (_t(rng.normal(size=(50, 4))), _t(rng.integers(0, 3, 50), torch.int64)) for s in ("train", "test")}
    )
    state = torch.get_rng_state()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluator.evaluate(identity_encoder(4), labelled, device=CPU, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    unlabelled = make_eval_source({s: (torch.randn(20, 4), None) for s in ("train", "test")}, name="no-labels")
    with pytest.raises(DatasetError, match="needs labels"):
        evaluator.evaluate(identity_encoder(4), unlabelled, device=CPU, seed=0)
