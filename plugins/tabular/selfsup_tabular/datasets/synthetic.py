"""Synthetic network-intrusion-like anomaly data for CLAN-style pretraining.

Following the "synthetic NIDS-like test" of the CLAN notes: benign flows are a
mixture of correlated Gaussians in ``R^d``; attacks are shifted or rescaled
copies of benign clusters. Raw features get heterogeneous scales and offsets
(like byte counts next to flag rates), so the Z-normalisation with the
benign-train statistics that CLAN uses matters: the preprocessing is fitted
on the train split, which holds benign flows only.

Attack kinds cycle through:

* ``shift``: a benign cluster moved along a random direction by
  ``attack_shift * s * sqrt(d) / 2`` (``s``: the cluster's mean spread), i.e. by
  ``attack_shift / 2`` spreads per feature (root mean square);
* ``scale``: a benign cluster with its spread multiplied by ``attack_scale``;
* ``sparse-shift``: a benign cluster moved by ``2 * attack_shift`` spreads in
  3 random features only.

Items carry ``"label"`` (0 benign, 1 attack) and ``"attack_type"`` (0 benign,
``1..num_attack_types`` an index into ``info["attack_types"]``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from selfsup.errors import ConfigError

from .configs import SyntheticTrafficConfig
from .schema import TableSchema
from .splits import check_fraction, split_off
from .table import TableSource

__all__ = ["SyntheticTraffic", "SyntheticTrafficConfig", "ATTACK_KINDS", "generate_traffic"]

#: Attack kinds, in the order attack types cycle through them.
ATTACK_KINDS = ("shift", "scale", "sparse-shift")
_CLASSES = ["benign", "attack"]


def _attack_kind(index: int) -> str:
    """Kind of attack type ``index`` (0-based): kinds cycle through :data:`ATTACK_KINDS`."""
    return ATTACK_KINDS[index % len(ATTACK_KINDS)]


def generate_traffic(config: SyntheticTrafficConfig) -> tuple[np.ndarray, np.ndarray]:
    """Return raw features ``[num_benign + num_attack, num_features]`` and attack types (0 = benign).

    Benign rows come first. Deterministic given ``config.seed``.
    """
    rng = np.random.default_rng([config.seed, 7])
    d, k = config.num_features, config.num_clusters
    centers = rng.normal(0.0, 2.0, size=(k, d))
    spreads = rng.uniform(0.5, 1.5, size=(k, d))
    rotations = np.stack([np.linalg.qr(rng.normal(size=(d, d)))[0] for _ in range(k)])
    weights = rng.dirichlet(np.full(k, 5.0))

    def sample(cluster: np.ndarray, center: np.ndarray, spread: np.ndarray) -> np.ndarray:
        noise = rng.normal(size=(len(cluster), d)) * spread
        return center + np.einsum("nd,nde->ne", noise, rotations[cluster].transpose(0, 2, 1))

    benign_cluster = rng.choice(k, size=config.num_benign, p=weights)
    benign = sample(benign_cluster, centers[benign_cluster], spreads[benign_cluster])

    counts = np.full(config.num_attack_types, config.num_attack // config.num_attack_types)
    counts[: config.num_attack % config.num_attack_types] += 1
    attacks, types = [], []
    for t, count in enumerate(counts):
        kind = _attack_kind(t)
        base = int(rng.integers(k))
        cluster = np.full(count, base)
        center = centers[base].copy()
        spread = spreads[base].copy()
        mean_spread = float(spread.mean())
        if kind == "shift":
            direction = rng.normal(size=d)
            direction /= np.linalg.norm(direction)
            center += config.attack_shift * mean_spread * np.sqrt(d) / 2 * direction
        elif kind == "scale":
            spread *= config.attack_scale
        else:
            features = rng.choice(d, size=min(3, d), replace=False)
            center[features] += 2 * config.attack_shift * mean_spread * rng.choice([-1.0, 1.0], size=len(features))
        attacks.append(sample(cluster, np.broadcast_to(center, (count, d)), np.broadcast_to(spread, (count, d))))
        types.append(np.full(count, t + 1))
    latent = np.concatenate([benign, *attacks]) if attacks else benign
    attack_type = np.concatenate([np.zeros(config.num_benign, dtype=np.int64), *types]).astype(np.int64)
    # Heterogeneous raw scales: log-uniform in [0.01, 1000], offsets up to 10 scales.
    scale = np.exp(rng.uniform(np.log(0.01), np.log(1000.0), size=d))
    offset = rng.uniform(0.0, 10.0, size=d) * scale
    return latent * scale + offset, attack_type


class SyntheticTraffic(TableSource):
    """Benign-only train split; val/test mix benign and attack flows (label 1 = attack).

    ``info`` adds ``benign_label`` (0), ``attack_types`` (``["benign", kinds...]``,
    indexed by the items' ``"attack_type"``) and ``num_attack_rows`` per split.
    """

    def __init__(self, config: SyntheticTrafficConfig | None = None) -> None:
        super().__init__()
        config = config if config is not None else SyntheticTrafficConfig()
        self.config = config
        _check_config(config)
        features, attack_type = generate_traffic(config)
        names = [f"f{j:02d}" for j in range(config.num_features)]
        frame = pd.DataFrame(features, columns=names)
        frame["label"] = np.where(attack_type > 0, "attack", "benign")

        benign = np.flatnonzero(attack_type == 0)
        attack = np.flatnonzero(attack_type > 0)
        n_test = int(round(config.test_fraction * len(benign)))
        n_val = int(round(config.val_fraction * len(benign)))
        pick_test, rest = split_off(len(benign), n_test, seed=[config.seed, 1])
        pick_val, pick_train = split_off(len(rest), n_val, seed=[config.seed, 2])
        val_share = config.val_fraction / (config.val_fraction + config.test_fraction)
        attack_val, attack_test = split_off(
            len(attack), int(round(val_share * len(attack))), groups=attack_type[attack] - 1, seed=[config.seed, 3]
        )
        rows = {
            "train": benign[rest[pick_train]],
            "val": np.concatenate([benign[rest[pick_val]], attack[attack_val]]),
            "test": np.concatenate([benign[pick_test], attack[attack_test]]),
        }
        shuffle = np.random.default_rng([config.seed, 4])
        rows = {name: shuffle.permutation(idx) if name != "train" else idx for name, idx in rows.items()}
        schema = TableSchema(target="label", task="classification", numerical=names, categorical=[], classes=_CLASSES)
        self.build_splits(
            {name: frame.iloc[idx].reset_index(drop=True) for name, idx in rows.items()},
            schema,
            extra_tensors={name: {"attack_type": torch.from_numpy(attack_type[idx])} for name, idx in rows.items()},
            extra_info={
                "benign_label": 0,
                "attack_types": ["benign", *map(_attack_kind, range(config.num_attack_types))],
                "num_attack_rows": {name: int((attack_type[idx] > 0).sum()) for name, idx in rows.items()},
            },
        )


def _check_config(config: SyntheticTrafficConfig) -> None:
    for name in ("num_benign", "num_features", "num_clusters", "num_attack_types"):
        if getattr(config, name) < 1:
            raise ConfigError(f"data.{name}={getattr(config, name)} must be at least 1.")
    if config.num_attack < 0:
        raise ConfigError(f"data.num_attack={config.num_attack} must be at least 0.")
    check_fraction("val_fraction", config.val_fraction, allow_zero=False)
    check_fraction("test_fraction", config.test_fraction, allow_zero=False)
    if config.val_fraction + config.test_fraction >= 1:
        raise ConfigError(
            f"data.val_fraction + data.test_fraction = {config.val_fraction + config.test_fraction} leaves no "
            "benign training rows. Keep their sum below 1 (e.g. 0.1 and 0.25)."
        )
