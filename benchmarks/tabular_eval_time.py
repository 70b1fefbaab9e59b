"""T-JEPA on Adult (defaults): wall and CPU time of each default evaluator on the random-init encoder.

    nice -n 5 .venv/bin/python benchmarks/tabular_eval_time.py [--root /work/shared/data/adult]

Runs the evaluators exactly as `selfsup pretrain` does after training (same resolved config, same
seed, torch's default thread count), on the random-init encoder only (the pretrained encoder costs
about the same), and prints the seconds each takes and its metrics; then all of them together as a run scores one
encoder (`run_evaluators`: each split embedded once, shared by the probes).
"""
import argparse
import time

import torch
from omegaconf import OmegaConf

from selfsup.config import resolve
from selfsup.registry import get_registry
from selfsup.run import build_run
from selfsup.scoring import run_evaluators

parser = argparse.ArgumentParser()
parser.add_argument("--root", default="/work/shared/data/adult")
parser.add_argument("--evaluators", nargs="*", default=None)
args = parser.parse_args()
user = OmegaConf.create({"modality": "tabular", "objective": "t-jepa", "dataset": "adult", "data": {"root": args.root}})
resolved = resolve(user, get_registry())
data, _, random_init, _ = build_run(resolved)
print("threads", torch.get_num_threads())
for spec in resolved.evaluators:
    if args.evaluators and spec.name not in args.evaluators:
        continue
    evaluator = spec.resolve_factory()(resolved.evaluator_config(spec.name))
    wall, cpu = time.perf_counter(), time.process_time()
    metrics = evaluator.evaluate(random_init, data, device=torch.device("cpu"), seed=0)
    print(f"{spec.name}: {time.perf_counter() - wall:.1f} s wall, {time.process_time() - cpu:.1f} s CPU, "
          f"{ {k: round(float(v), 4) for k, v in metrics.items()} }", flush=True)
wall, cpu = time.perf_counter(), time.process_time()
run_evaluators(resolved, data, {"random_init": random_init}, torch.device("cpu"))
print(f"all, as a run does (features shared): {time.perf_counter() - wall:.1f} s wall, {time.process_time() - cpu:.1f} s CPU")
