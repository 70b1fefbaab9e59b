"""BSS's domain-leakage check (research notes, methods-vision.md § 9): on digits drawn in three
synthetic "domains" (a colour tint, a contrast and a blur of their own), SimCLR is pretrained
with and without ``objective_config.view_transform=bss``; a linear classifier then tries to
tell the domain from the frozen features. BSS standardises each view batch's low-frequency
amplitude (where tint, contrast and blur live), so its features should leak less domain.

    python benchmarks/vision_bss_leakage.py --seeds 0 1 2            # both variants per seed
    python benchmarks/vision_bss_leakage.py --table                   # the table from the raw files

The styles are :data:`STYLES` moved towards the identity by ``--style-strength`` (default 0.08):
at full strength every domain is read perfectly from any features (measured: logistic regression
1.000 on the raw pixels, on a random-init ResNet-18 and on SimCLR's features with and without BSS,
seed 0), so the check says nothing; at 0.08 the raw pixels still give 0.997 but a random-init
ResNet-18's features 0.777 (0.3: 0.984, 0.15: 0.922), leaving room to leak more or less.

Per seed and variant, ``benchmarks/results/vision-bss-leakage-<none|bss>-s<seed>.json`` holds the
domain accuracy (logistic regression on standardised features, 5-fold stratified CV over the
1,797 images, the chance level being 1/3), the digit accuracy of the same probe (the features
must still describe the digits), both also for a random-init ResNet-18 of the same seed (the
run's random-init twin: ``torch.manual_seed(seed)``, the default config), the run's k-NN on its
test split, the command and the CPU seconds. ``--table`` prints both variants and their paired difference with a 95 % t interval.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"
DOMAINS = 3
#: (RGB tint, contrast, blur sigma) of each domain: all three are low-frequency image statistics.
STYLES = (((1.0, 0.8, 0.8), 1.0, 0.0), ((0.8, 1.0, 0.85), 0.7, 0.0), ((0.85, 0.85, 1.0), 0.85, 0.8))


def styled_digits(seed: int = 0, strength: float = 1.0) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """uint8 ``[1797, 3, 16, 16]`` digits, each in a seeded random domain, the styles moved towards
    the identity by ``strength`` (1: :data:`STYLES`); (images, digits, domains)."""
    from sklearn.datasets import load_digits
    from torchvision.transforms.v2 import functional as tvf

    data = load_digits()
    gray = torch.tensor(data.images / 16.0, dtype=torch.float32)[:, None]
    gray = tvf.resize(gray, [16, 16], antialias=True).clamp(0, 1)
    domains = np.random.default_rng(seed).integers(0, DOMAINS, len(gray))
    images = torch.empty(len(gray), 3, 16, 16)
    for index, domain in enumerate(domains):
        tint, contrast, sigma = STYLES[domain]
        tint = tuple(1 - strength * (1 - t) for t in tint)
        contrast, sigma = 1 - strength * (1 - contrast), sigma * strength
        image = 0.5 + (gray[index] - 0.5) * contrast
        if sigma:
            image = tvf.gaussian_blur(image, [5, 5], [sigma, sigma])
        images[index] = image * torch.tensor(tint).view(3, 1, 1)
    return (images * 255).round().clamp(0, 255).to(torch.uint8), data.target, domains


def write_folder(root: Path, images: torch.Tensor, digits: np.ndarray, domains: np.ndarray) -> None:
    """``root/<digit>/<index>-d<domain>.png``: the ``image-folder`` layout, labelled by digit."""
    from torchvision.io import write_png

    for index, (image, digit, domain) in enumerate(zip(images, digits, domains, strict=True)):
        folder = root / str(int(digit))
        folder.mkdir(parents=True, exist_ok=True)
        write_png(image, str(folder / f"{index:04d}-d{int(domain)}.png"))


def probe_accuracy(features: np.ndarray, labels: np.ndarray, seed: int) -> float:
    """5-fold stratified CV accuracy of a standardised logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    return float(cross_val_score(model, features, labels, cv=folds).mean())


def features(encoder: torch.nn.Module, images: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return torch.cat([encoder({"x": images[i : i + 256].float() / 127.5 - 1.0}) for i in range(0, len(images), 256)]).numpy()


def run(variant: str, seed: int, steps: int, strength: float, runs: Path, results: Path) -> dict:
    from selfsup import load_encoder
    from selfsup.cli import main as selfsup_main
    from selfsup_vision.backbone_configs import ResNetConfig
    from selfsup_vision.encoders.backbones import build_resnet18

    images, digits, domains = styled_digits(strength=strength)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "styled-digits"
        write_folder(root, images, digits, domains)
        run_dir = runs / f"bss-leakage-{variant}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"
        command = ["pretrain", "modality=vision", "objective=simclr", "dataset=image-folder", f"data.root={root}",
                   "data.channels=3", "data.image_size=16", f"trainer.max_steps={steps}", "trainer.batch_size=64",
                   "evaluators=[knn]", f"seed={seed}", f"run_dir={run_dir}", "trainer.progress=off"]
        if variant == "bss":
            command.append("objective_config.view_transform=bss")
        start = time.process_time()
        if selfsup_main(command) != 0:
            raise SystemExit(f"selfsup {' '.join(command)} failed")
        cpu = time.process_time() - start
    trained = features(load_encoder(run_dir).eval(), images)
    torch.manual_seed(seed)
    twin = features(build_resnet18(ResNetConfig(), {"channels": 3, "height": 16, "width": 16}).eval(), images)
    knn = json.loads((run_dir / "metrics.json").read_text())["evaluations"]["knn"]
    record = {
        "variant": variant, "seed": seed, "steps": steps, "style_strength": strength,
        "domain_accuracy": probe_accuracy(trained, domains, seed),
        "digit_accuracy": probe_accuracy(trained, digits, seed),
        "domain_accuracy_random_init": probe_accuracy(twin, domains, seed),
        "digit_accuracy_random_init": probe_accuracy(twin, digits, seed),
        "knn_accuracy": knn["pretrained"]["accuracy"], "knn_random_init": knn["random_init"]["accuracy"],
        "command": "selfsup " + " ".join(command), "cpu_seconds": round(cpu, 1),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    out = results / f"vision-bss-leakage-{variant}-s{seed}.json"
    out.with_suffix(".tmp").write_text(json.dumps(record, indent=2) + "\n")
    out.with_suffix(".tmp").replace(out)
    print(json.dumps({k: v for k, v in record.items() if k != "command"}), flush=True)
    return record


def _interval(values: list[float]) -> str:
    from scipy import stats

    mean = statistics.mean(values)
    if len(values) < 2:
        return f"{mean:+.3f}"
    half = stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return f"{mean:+.3f} ± {half:.3f}"


def table(results: Path) -> str:
    records = {(r["variant"], r["seed"]): r for r in (json.loads(p.read_text()) for p in results.glob("vision-bss-leakage-*-s*.json"))}
    seeds = sorted(s for v, s in records if v == "none" and ("bss", s) in records)
    lines = [f"seeds {seeds}", "| metric | without BSS | with BSS | paired difference (BSS − without) |", "|---|---|---|---|"]
    for metric in ("domain_accuracy", "digit_accuracy", "knn_accuracy", "domain_accuracy_random_init"):
        none = [records["none", s][metric] for s in seeds]
        bss = [records["bss", s][metric] for s in seeds]
        mean_sd = lambda v: f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}"  # noqa: E731
        lines.append(f"| {metric} | {mean_sd(none)} | {mean_sd(bss)} | {_interval([b - n for b, n in zip(bss, none, strict=True)])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["none", "bss"], choices=["none", "bss"])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--style-strength", type=float, default=0.08)
    parser.add_argument("--runs", default="runs/bss-leakage")
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--table", action="store_true", help="print the table from the raw files and stop")
    args = parser.parse_args()
    if args.table:
        print(table(Path(args.results)))
        return
    for seed in args.seeds:
        for variant in args.variants:
            run(variant, seed, args.steps, args.style_strength, Path(args.runs), Path(args.results))
    print(table(Path(args.results)))


if __name__ == "__main__":
    main()
