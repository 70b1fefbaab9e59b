"""Feature extraction for the evaluators: ``extract_features`` (order, masks, ``max_rows``, label and
split checks), ``shared_features`` (each split embedded once per encoder) and ``split_train_val``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfsup.errors import ComponentError, ConfigError, DatasetError
from selfsup.evaluation import extract_features, split_train_val

pytestmark = pytest.mark.usefixtures("torch_single_thread")

CPU = torch.device("cpu")


def _t(array: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(array), dtype=dtype)


# --------------------------------------------------------------------------- extract_features


@pytest.mark.parametrize("mode", ["loader", "vectorised", "full_batch"])
def test_extract_features_keeps_order_masks_and_restores_training(make_eval_source, identity_encoder, mode) -> None:
    rng = np.random.default_rng(0)
    x = {s: rng.normal(size=(n, 3)) for s, n in [("train", 7), ("val", 4), ("test", 5)]}
    y = {s: rng.integers(0, 3, size=len(v)) for s, v in x.items()}
    source = make_eval_source(
        {s: (_t(x[s], torch.float64), _t(y[s], torch.int64)) for s in x},
        vectorised=mode == "vectorised",
        full_batch=mode == "full_batch",
    )
    encoder = identity_encoder(3)
    encoder.train()
    state = torch.get_rng_state()
    feats, labels = extract_features(encoder, source, "val", device=CPU, batch_size=3)
    assert torch.equal(torch.get_rng_state(), state), "the global RNG must not move"
    assert feats.dtype == torch.float32 and feats.device.type == "cpu"
    np.testing.assert_allclose(feats.numpy(), x["val"], rtol=1e-6)  # in order; eval_mask applied
    np.testing.assert_array_equal(labels.numpy(), y["val"])
    assert encoder.training, "the encoder's training flag must be restored"
    assert encoder.seen_training and not any(encoder.seen_training), "forward must run in eval mode"
    assert not feats.is_inference() and not feats.requires_grad
    expected_calls = 1 if mode == "full_batch" else 2  # 4 rows in batches of 3
    assert len(encoder.seen_training) == expected_calls


@pytest.mark.parametrize("mode", ["loader", "vectorised", "full_batch"])
def test_extract_features_max_rows_reads_only_the_first_rows(make_eval_source, identity_encoder, mode) -> None:
    """``max_rows`` embeds the split's first rows only (a full-batch source whole, then cut)."""
    x, y = torch.randn(10, 3), torch.arange(10)
    source = make_eval_source({"train": (x, y), "test": (x, y)}, vectorised=mode == "vectorised", full_batch=mode == "full_batch")
    encoder = identity_encoder(3)
    feats, labels = extract_features(encoder, source, "test", device=CPU, batch_size=3, max_rows=4)
    np.testing.assert_allclose(feats.numpy(), x[:4].numpy(), rtol=1e-6)
    assert labels.tolist() == [0, 1, 2, 3]
    assert len(encoder.seen_training) == (1 if mode == "full_batch" else 2)  # 4 rows in batches of 3, not 10
    feats, _ = extract_features(encoder, source, "test", device=CPU, batch_size=3, max_rows=50)
    assert feats.shape == (10, 3)
    with pytest.raises(ConfigError, match="max_rows must be >= 1"):
        extract_features(encoder, source, "test", device=CPU, max_rows=0)


def test_extract_features_label_requirements(make_eval_source, identity_encoder) -> None:
    source = make_eval_source({"train": (torch.randn(5, 2), None), "test": (torch.randn(3, 2), None)}, name="toy-ul")
    with pytest.raises(DatasetError, match=r"linear-probe needs labels.*'train'.*toy-ul"):
        extract_features(identity_encoder(2), source, "train", device=CPU, evaluator="linear-probe")
    feats, labels = extract_features(identity_encoder(2), source, "test", device=CPU, require_labels=False)
    assert labels is None and feats.shape == (3, 2)


def test_extract_features_rejects_unknown_split_and_bad_encoder(make_eval_source, identity_encoder) -> None:
    source = make_eval_source({"train": (torch.randn(5, 2), torch.zeros(5, dtype=torch.long))})
    with pytest.raises(DatasetError, match=r"needs split 'tset'.*\['train'\]"):
        extract_features(identity_encoder(2), source, "tset", device=CPU)

    class Flat(torch.nn.Module):
        def forward(self, batch):
            return batch["x"].sum(1)

    with pytest.raises(ComponentError, match=r"expected a tensor \[rows, embed_dim\]"):
        extract_features(Flat(), source, "train", device=CPU)


def test_shared_features_embed_each_split_once_until_the_encoder_changes(make_eval_source, identity_encoder) -> None:
    from selfsup.evaluation.features import shared_features

    source = make_eval_source({"train": (torch.randn(6, 2), torch.zeros(6, dtype=torch.long)), "test": (torch.randn(4, 2), None)})
    encoder = identity_encoder(2)
    calls = lambda: len(encoder.seen_training)  # noqa: E731
    first, _ = extract_features(encoder, source, "train", device=CPU, batch_size=8)
    extract_features(encoder, source, "train", device=CPU, batch_size=8)
    assert calls() == 2, "outside a block every call runs the encoder"
    with shared_features():
        a, labels_a = extract_features(encoder, source, "train", device=CPU, batch_size=8)
        a.add_(100.0)  # a caller's in-place change must not reach the next caller
        b, labels_b = extract_features(encoder, source, "train", device=CPU, batch_size=8)
        assert calls() == 3
        torch.testing.assert_close(b, first)
        assert torch.equal(labels_a, labels_b)
        extract_features(encoder, source, "train", device=CPU, batch_size=6)  # another batch size: embedded again
        extract_features(encoder, source, "test", device=CPU, batch_size=8, require_labels=False)
        assert calls() == 5
        assert extract_features(encoder, source, "train", device=CPU, batch_size=8, max_rows=2)[0].shape == (2, 2)
        assert calls() == 6  # the first rows only: another value
        with torch.no_grad():
            encoder.scale.mul_(2.0)  # trained in place: the stored features are stale
        c, _ = extract_features(encoder, source, "train", device=CPU, batch_size=8)
        assert calls() == 7
        torch.testing.assert_close(c, 2 * first)
    extract_features(encoder, source, "train", device=CPU, batch_size=8)
    assert calls() == 8, "the store ends with the block"


def test_split_train_val_is_seeded_disjoint_and_complete() -> None:
    state = torch.get_rng_state()
    train, val = split_train_val(100, 0.2, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert len(val) == 20 and len(train) == 80
    assert sorted(torch.cat([train, val]).tolist()) == list(range(100))
    again = split_train_val(100, 0.2, seed=3)
    assert torch.equal(again[1], val)
    assert not torch.equal(split_train_val(100, 0.2, seed=4)[1], val)
    with pytest.raises(ConfigError, match="val_fraction"):
        split_train_val(100, 1.0, seed=0)
