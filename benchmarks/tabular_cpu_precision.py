"""T-JEPA on Adult: CPU time of one training step (batch 512) in fp32 vs bf16 autocast, and a profile.

python benchmarks/tabular_cpu_precision.py   (needs ../shared/data/adult; one thread; CPU time, not
wall time, so that other jobs on the machine distort it less)
"""
import time, torch
from omegaconf import OmegaConf
from selfsup.config import resolve
from selfsup.registry import get_registry
from selfsup.run import build_run
from selfsup.engine.device import autocast_context
torch.set_num_threads(1)
user = OmegaConf.create({"modality": "tabular", "objective": "t-jepa", "dataset": "adult", "data": {"root": str(__import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "data" / "adult")}})
resolved = resolve(user, get_registry())
data, encoder, _, objective = build_run(resolved)
train = data.split("train")
batch = data.collate([train[i] for i in range(512)]) if not hasattr(train, "__getitems__") else data.collate(train.__getitems__(list(range(512))))
opt = torch.optim.AdamW(objective.parameters(), lr=1e-4)
def step(dtype):
    opt.zero_grad()
    with autocast_context(torch.device("cpu"), dtype):
        out = objective.training_step(batch, step=1, phase="main")
    out["loss"].backward(); opt.step()
    return out["loss"].item()
for d in (torch.float32, torch.bfloat16): step(d)
times = {torch.float32: [], torch.bfloat16: []}
for rep in range(6):
    for d in (torch.float32, torch.bfloat16):
        t = time.process_time(); step(d); times[d].append(time.process_time() - t)
for d, v in times.items():
    v = sorted(v); print(d, "median CPU s/step", round(v[len(v)//2], 4), [round(x,3) for x in v])
from torch.profiler import profile, ProfilerActivity
with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
    for _ in range(3): step(torch.float32)
print(prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=14))
