"""T-JEPA on Adult (defaults): CPU time of one training step (batch 512, fp32, one thread) and a profile.

    nice -n 5 .venv/bin/python benchmarks/tabular_step_profile.py [--root /work/shared/data/adult]
        [--repeats 20] [--profile] [--threads 1]

Process CPU time (time.process_time), not wall time, so that other jobs on the machine distort it
less (wall time is printed too; with --threads 2, torch's default on this machine, compare wall
times). The same batch is reused; masks are drawn fresh each step from a fixed seed, so two code
versions see the same sequence of mask sizes. To time another version of the plugin, put its
checkout first on PYTHONPATH (e.g. `git archive <rev> plugins/tabular | tar -x -C /tmp/old`,
then PYTHONPATH=/tmp/old/plugins/tabular).
"""
import argparse
import statistics
import time

import torch
from omegaconf import OmegaConf

import selfsup_tabular
from selfsup.config import resolve
from selfsup.engine.optim import build_optimizer
from selfsup.registry import get_registry
from selfsup.run import build_run

parser = argparse.ArgumentParser()
parser.add_argument("--root", default="/work/shared/data/adult")
parser.add_argument("--repeats", type=int, default=20)
parser.add_argument("--profile", action="store_true")
parser.add_argument("--threads", type=int, default=1)
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
print("plugin:", selfsup_tabular.__file__)
user = OmegaConf.create({"modality": "tabular", "objective": "t-jepa", "dataset": "adult", "data": {"root": args.root}})
resolved = resolve(user, get_registry())
data, encoder, _, objective = build_run(resolved)
objective.train()
train = data.split("train")
batch = data.collate(train.__getitems__(list(range(512))))
settings = {**OmegaConf.to_container(resolved.config.trainer), "lr": 3.66e-4}
opt = build_optimizer([p for p in objective.parameters() if p.requires_grad], settings, device=torch.device("cpu"))


def step(i: int) -> float:
    opt.zero_grad(set_to_none=True)
    out = objective.training_step(batch, step=i, phase="main")
    out["loss"].backward()
    torch.nn.utils.clip_grad_value_(objective.parameters(), 1.0)
    opt.step()
    objective.on_step_end(step=i, max_steps=3420)
    return out


for i in range(3):
    step(i + 1)
torch.manual_seed(1)
times, walls = [], []
for i in range(args.repeats):
    t, w = time.process_time(), time.perf_counter()
    step(i + 1)
    times.append(time.process_time() - t)
    walls.append(time.perf_counter() - w)
times.sort()
print(f"CPU s/step over {args.repeats} steps ({args.threads} thread(s)): median {statistics.median(times):.4f}, "
      f"mean {statistics.fmean(times):.4f}, min {times[0]:.4f}, max {times[-1]:.4f}; "
      f"wall s/step median {statistics.median(walls):.4f}")
if args.profile:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for i in range(5):
            step(i + 1)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30))
    print(prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=30))
