"""Why the tabular default (T-JEPA on the bundled ``adult-sample``) shows no gain: per seed, one
pretraining run of the default command (``selfsup.pretrain(modality="tabular", seed=s)`` plus the
given overrides), then cheap diagnostics of its three encoders, written to one JSON file per seed.

    python benchmarks/tabular_default_diagnostics.py --seeds 0 1 2 --name default
    python benchmarks/tabular_default_diagnostics.py --seeds 0 1 2 --name lr2e-3 trainer.lr=0.002
    python benchmarks/tabular_default_diagnostics.py --table default lr2e-3   # the tables, from the raw files
    python benchmarks/tabular_default_diagnostics.py --reference   # gradient boosting on the raw columns

The three encoders: the random-init twin (rebuilt as the run builds it: ``torch.manual_seed(seed)``,
then the encoder factory; checked against the run's own random-init linear probe), the saved context
encoder and the EMA target (both read from the run's last checkpoint, ``weights_only=True``). For
each, on the token matrix ``[rows, n_reg + d, h]`` of the train/val/test splits:

* ``lp_<pooling>``: a logistic regression (scikit-learn, standardised features, C in 1e-3..10 chosen
  on val, refitted on train) on the ``flatten`` / ``mean`` / ``reg`` pooled tokens: test accuracy;
* ``knn``: 20-NN on the standardised flattened tokens; ``lp_100_labels``: the logistic regression
  (C 0.1) fitted on 100 random labelled train rows, mean over 5 draws;
* ``feature_std``: the across-row std of the flattened tokens, averaged over dimensions;
  ``effective_rank``: exp(entropy of the normalised singular values) of the centred flattened train
  tokens (``effective_rank_standardised``: of the standardised ones).

And for the trained objective on 512 train rows (one fixed mask draw): ``jepa_loss`` against
``position_mean_loss``, the loss of the trivial predictor that outputs each target token's mean
over the rows (the across-row variance of the target tokens): a JEPA loss above it means the
predictor has not yet learned even the per-position constant of its targets.

The run's own ``linear-probe`` (the core evaluator, what the default command reports) is recorded
beside them for the context encoder and the random-init twin (``product_linear_probe``).
Raw files: ``benchmarks/results/tabular-default-diagnostics-<name>-s<seed>.json``; the table in
``benchmarks/tabular.md`` § Why the tabular default shows no gain.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from selfsup import pretrain
from selfsup.registry import get_registry
from selfsup_tabular.configs import FTTransformerConfig, TJEPAConfig
from selfsup_tabular.objectives.t_jepa import TJEPA

RESULTS = Path(__file__).resolve().parent / "results"
POOLINGS = ("flatten", "mean", "reg")


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _effective_rank(x: np.ndarray) -> float:
    singular = np.linalg.svd(x - x.mean(0), compute_uv=False)
    p = singular / singular.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def _logistic(train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> float:
    scaler = StandardScaler().fit(train[0])
    xtr, xva, xte = (scaler.transform(part[0]) for part in (train, val, test))
    scores = {c: LogisticRegression(C=c, max_iter=500).fit(xtr, train[1]).score(xva, val[1]) for c in (1e-3, 1e-2, 1e-1, 1.0, 10.0)}
    best = max(scores, key=lambda c: (scores[c], -c))
    return float(LogisticRegression(C=best, max_iter=500).fit(xtr, train[1]).score(xte, test[1]))


def _pool(tokens: np.ndarray, pooling: str) -> np.ndarray:
    if pooling == "flatten":
        return tokens.reshape(len(tokens), -1)
    if pooling == "mean":
        return tokens.mean(axis=1)
    return tokens[:, 0]  # the one reg token of the default encoder


def _whole(data: Any, split: str) -> dict[str, torch.Tensor]:
    dataset = data.split(split)
    return dataset.__getitems__(list(range(len(dataset))))


@torch.no_grad()
def _diagnose(encoder: torch.nn.Module, batches: dict[str, dict[str, torch.Tensor]]) -> dict[str, float]:
    encoder.eval()
    tokens = {s: encoder.encode(encoder.tokens(b)).numpy() for s, b in batches.items()}
    labels = {s: b["label"].numpy() for s, b in batches.items()}
    out: dict[str, float] = {}
    for pooling in POOLINGS:
        parts = {s: (_pool(tokens[s], pooling), labels[s]) for s in tokens}
        out[f"lp_{pooling}"] = _logistic(parts["train"], parts["val"], parts["test"])
    flat = {s: _pool(tokens[s], "flatten") for s in tokens}
    scaler = StandardScaler().fit(flat["train"])
    train, test = scaler.transform(flat["train"]), scaler.transform(flat["test"])
    out["knn"] = float(KNeighborsClassifier(20).fit(train, labels["train"]).score(test, labels["test"]))
    rng = np.random.default_rng(0)
    few = []
    for _ in range(5):
        rows = rng.choice(len(train), 100, replace=False)
        few.append(LogisticRegression(C=0.1, max_iter=500).fit(train[rows], labels["train"][rows]).score(test, labels["test"]))
    out["lp_100_labels"] = float(np.mean(few))
    out["feature_std"] = float(flat["train"].std(0).mean())
    out["effective_rank"] = _effective_rank(flat["train"])
    out["effective_rank_standardised"] = _effective_rank(train)
    return out


#: The accuracies compared (pretrained − random init, paired by seed) and the statistics shown as means.
ACCURACIES = ("lp_flatten", "lp_mean", "lp_reg", "knn", "lp_100_labels")
STATISTICS = ("feature_std", "effective_rank", "effective_rank_standardised")


def print_table(name: str, results: Path = RESULTS) -> None:
    """The paired table of one variant, recomputed from its raw per-seed files."""
    from tables import paired_summary  # benchmarks/tables.py (this script's folder is on sys.path)

    records = [json.loads(f.read_text()) for f in sorted(results.glob(f"tabular-default-diagnostics-{name}-s*.json"))]
    if not records:
        raise SystemExit(f"no raw files tabular-default-diagnostics-{name}-s*.json in {results}")
    print(f"### {name}: seeds {[r['seed'] for r in records]}, overrides {records[0]['overrides'] or 'none'}\n")
    print("| accuracy (test) | random init | context − random init (95 % CI) | EMA target − random init (95 % CI) |")
    print("|---|---|---|---|")
    for metric in ACCURACIES:
        base = [r["random_init"][metric] for r in records]
        rows = [paired_summary([r[arm][metric] for r in records], base) for arm in ("context", "target")]
        print(f"| {metric} | {rows[0]['random_init']:.4f} ± {rows[0]['random_init_sd']:.4f} | "
              f"{rows[0]['diff']:+.4f} ± {rows[0]['diff_ci']:.4f} | {rows[1]['diff']:+.4f} ± {rows[1]['diff_ci']:.4f} |")
    product = paired_summary([r["product_linear_probe"]["context"] for r in records],
                             [r["product_linear_probe"]["random_init"] for r in records])
    print(f"| the run's `linear-probe` (core) | {product['random_init']:.4f} ± {product['random_init_sd']:.4f} | "
          f"{product['diff']:+.4f} ± {product['diff_ci']:.4f} | |\n")
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    for metric in STATISTICS:
        print(f"- {metric}: " + ", ".join(f"{arm} {mean([r[arm][metric] for r in records]):.4g}"
                                           for arm in ("random_init", "context", "target")))
    print(f"- JEPA loss {mean([r['jepa_loss'] for r in records]):.4g} vs per-position-mean predictor "
          f"{mean([r['position_mean_loss'] for r in records]):.4g}; target std first/last step "
          f"{mean([r['first_target_std'] for r in records]):.4g} / {mean([r['final_target_std'] for r in records]):.4g}; "
          f"CPU-s a seed {min(r['cpu_seconds'] for r in records):.0f}-{max(r['cpu_seconds'] for r in records):.0f}\n")


def print_reference() -> None:
    """The headroom: scikit-learn's gradient boosting on the sample's raw columns (categories native)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    spec = get_registry().get("dataset", "adult-sample", modality="tabular")
    data = spec.resolve_factory()(spec.config_cls())
    parts = {}
    for split in ("train", "test"):
        batch = _whole(data, split)
        parts[split] = (np.hstack([batch["numerical"].numpy(), batch["categorical"].numpy()]), batch["label"].numpy())
    categorical = np.arange(parts["train"][0].shape[1]) >= data.info["num_numerical"]
    for seed in (0, 1, 2):
        model = HistGradientBoostingClassifier(categorical_features=categorical, random_state=seed)
        print(f"HistGradientBoostingClassifier, random_state {seed}: test accuracy "
              f"{model.fit(*parts['train']).score(*parts['test']):.4f}")
    print(f"majority class: {max(parts['test'][1].mean(), 1 - parts['test'][1].mean()):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", action="store_true", help="print the gradient-boosting reference and exit")
    parser.add_argument("--table", nargs="+", metavar="NAME", help="print the tables of these variants and exit")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--name", help="the variant's name in the result files")
    parser.add_argument("--runs", default="runs/tabular-default-diagnostics")
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("overrides", nargs="*", help="config overrides key=value (none: the default command)")
    args = parser.parse_args()
    if args.reference:
        print_reference()
        return
    if args.table:
        for name in args.table:
            print_table(name, Path(args.results))
        return
    if not args.name:
        parser.error("--name is required to run a variant")
    overrides = OmegaConf.to_container(OmegaConf.from_dotlist(args.overrides)) if args.overrides else {}
    registry = get_registry()
    for seed in args.seeds:
        start = _cpu_seconds()
        run_dir = Path(args.runs) / f"{args.name}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"
        config = OmegaConf.to_container(OmegaConf.merge({"trainer": {"progress": "off"}}, overrides))
        result = pretrain(modality="tabular", seed=seed, run_dir=run_dir, evaluators=["linear-probe"], config=config)
        resolved = result.config
        assert resolved["objective"] == "t-jepa" and resolved["encoder"] == "ft-transformer", resolved["objective"]
        dataset = registry.get("dataset", resolved["dataset"], modality="tabular")
        data = dataset.resolve_factory()(dataset.config_cls(**resolved["data"]))
        encoder_config = FTTransformerConfig(**resolved["encoder_config"])
        spec = registry.get("encoder", "ft-transformer", modality="tabular")
        torch.manual_seed(seed)  # as the run builds its random-init twin
        random_init = spec.resolve_factory()(encoder_config, data.info)
        state = torch.load(sorted((run_dir / "checkpoints").glob("step-*.pt"))[-1], weights_only=True)["objective"]
        objective = TJEPA(TJEPAConfig(**resolved["objective_config"]), copy.deepcopy(random_init), data.info)
        objective.load_state_dict(state)
        saved = {k: v for k, v in result.encoder.state_dict().items()}
        assert all(torch.equal(saved[k], v) for k, v in objective.encoder.state_dict().items()), "context encoder mismatch"
        batches = {split: _whole(data, split) for split in ("train", "val", "test")}
        record: dict[str, Any] = {
            "seed": seed, "name": args.name, "overrides": args.overrides, "commit": _commit(),
            "steps": len(result.history), "final_loss": result.history[-1].get("loss"),
            "first_target_std": result.history[0].get("target_std"), "final_target_std": result.history[-1].get("target_std"),
            "product_linear_probe": {"context": result.metrics.get("linear-probe/accuracy"),
                                     "random_init": result.random_init_metrics.get("linear-probe/accuracy")},
        }
        for label, encoder in (("random_init", random_init), ("context", objective.encoder), ("target", objective.target_encoder)):
            record[label] = _diagnose(encoder, batches)
        objective.eval()
        torch.manual_seed(0)
        with torch.no_grad():
            batch = {k: v[:512] for k, v in batches["train"].items()}
            loss = objective.training_step(batch, step=1, phase="train")["loss"]
            full = objective.target_encoder.encode(objective.target_encoder.tokens(batch))[:, objective.n_reg_tokens:]
            record["jepa_loss"] = float(loss)
            record["position_mean_loss"] = float((full - full.mean(0, keepdim=True)).square().mean())
        record["cpu_seconds"] = round(_cpu_seconds() - start, 1)
        out = Path(args.results) / f"tabular-default-diagnostics-{args.name}-s{seed}.json"
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.replace(out)
        print(json.dumps({k: record[k] for k in ("seed", "product_linear_probe", "jepa_loss", "position_mean_loss")}), flush=True)
        for label in ("random_init", "context", "target"):
            print(" ", label, {k: round(v, 4) for k, v in record[label].items()}, flush=True)


if __name__ == "__main__":
    main()
