"""T-JEPA on UCI Adult with the modality's defaults: the linear probe on the context encoder,
on the EMA-target encoder and on the random-init twin, one JSON file per seed.

    python benchmarks/tjepa_paired.py --root ../shared/data/adult --seeds 0 1 2 3 4 \
        --out-prefix benchmarks/results/tabular-tjepa-adult-paired

One pretraining run per seed (``selfsup.pretrain`` with every default except the evaluator
list, which is ``[linear-probe]``; the run evaluates the context encoder, ``objective_config.evaluate``
= ``context``). The EMA target's weights are read from the run's final checkpoint
(``torch.load(weights_only=True)``) into a copy of the random-init encoder and scored by the
same evaluator on the same data. ``benchmarks/tables.py tjepa-paired`` turns the files into
paired differences with a 95 % t confidence interval.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import resource
import subprocess
import time
from pathlib import Path

import torch

from selfsup import pretrain
from selfsup.saved_run import resolve_saved_run
from selfsup.scoring import run_evaluators


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="the folder holding adult.data and adult.test")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--runs", default="runs/tjepa-paired")
    parser.add_argument("--out-prefix", required=True)
    parser.add_argument("overrides", nargs="*", help="extra config overrides key=value (none for the defaults)")
    args = parser.parse_args()
    from omegaconf import OmegaConf

    overrides = OmegaConf.to_container(OmegaConf.from_dotlist(args.overrides)) if args.overrides else {}
    for seed in args.seeds:
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        run_dir = Path(args.runs) / f"seed{seed}-{time.strftime('%Y%m%d-%H%M%S')}"
        config = OmegaConf.to_container(OmegaConf.merge({"trainer": {"progress": "off", "device": "cpu"}}, overrides))
        result = pretrain(modality="tabular", objective="t-jepa", dataset="adult", data={"root": args.root},
                          evaluators=["linear-probe"], seed=seed, run_dir=run_dir, config=config)
        checkpoints = sorted((run_dir / "checkpoints").glob("step-*.pt"))
        state = torch.load(checkpoints[-1], weights_only=True)["objective"]
        target = copy.deepcopy(result.encoder)
        target.load_state_dict({k.removeprefix("target_encoder."): v for k, v in state.items() if k.startswith("target_encoder.")})
        context_keys = {k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")}
        assert all(torch.equal(context_keys[k], v) for k, v in result.encoder.state_dict().items()), "context encoder mismatch"
        resolved = resolve_saved_run(run_dir, {}, ())
        data = resolved.dataset.resolve_factory()(resolved.component_config("data"))
        target_scores = run_evaluators(resolved, data, {"target": target.eval()}, torch.device("cpu"))["linear-probe"]["target"]
        usage = resource.getrusage(resource.RUSAGE_SELF)
        record = {
            "seed": seed,
            "commit": _commit(),
            "steps": len(result.history),
            "config": {"trainer": {k: result.config["trainer"][k] for k in ("max_epochs", "max_steps", "batch_size", "lr")},
                       "encoder_config": result.config.get("encoder_config"),
                       "objective_config": result.config.get("objective_config"),
                       "overrides": args.overrides},
            "final_loss": result.history[-1].get("loss"),
            "context": {k.removeprefix("linear-probe/"): v for k, v in result.metrics.items()},
            "target": target_scores,
            "random_init": {k.removeprefix("linear-probe/"): v for k, v in result.random_init_metrics.items()},
            "wall_seconds": round(time.perf_counter() - start_wall, 1),
            "cpu_seconds": round(time.process_time() - start_cpu, 1),
            "max_rss_mb": round(usage.ru_maxrss / 1024),
            "machine": f"{platform.machine()} {os.cpu_count()} cores, torch {torch.__version__}, CPU",
        }
        out = Path(f"{args.out_prefix}-s{seed}.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.replace(out)
        print(json.dumps({k: record[k] for k in ("seed", "context", "target", "random_init", "wall_seconds")}), flush=True)


if __name__ == "__main__":
    main()
