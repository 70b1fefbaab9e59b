"""Does AugSelf-GAN's objective-trained translation head regress ω on real digits? R² on real test
digits (target +ω) and on generated images (target −ω) after N objective steps, and the slope of the
prediction on ω (real) and on ω (fake; the objective's target there is −ω).

    python plugins/vision/scripts/augself_head_probe.py <steps,steps,...> <lr> <policy> <seed>
    python plugins/vision/scripts/augself_head_probe.py 150,600 2e-4 translation 0

The objective (``AugSelfGAN.training_step``, both phases, Adam betas (0, 0.999)) trains the
discriminator trunk of ``tests/test_vision_objectives.py``'s head test (16 channels, 2 DBlocks,
1 downsampling) on the embedded digits; one JSON line per requested step count.
"""
import json, sys, time, torch
from selfsup_vision.augment.diffaugment import diff_augment
from selfsup_vision.configs import AugSelfGANConfig, BigGANDiscriminatorConfig, DigitsConfig
from selfsup_vision.datasets.digits import Digits
from selfsup_vision.networks.encoder import build_discriminator_trunk
from selfsup_vision.objectives.gan import AugSelfGAN

torch.set_num_threads(1)
steps_list = [int(s) for s in sys.argv[1].split(",")]; lr = float(sys.argv[2]); policy = sys.argv[3]; seed = int(sys.argv[4])
data = Digits(DigitsConfig())
torch.manual_seed(seed)
trunk = build_discriminator_trunk(BigGANDiscriminatorConfig(channels=16, blocks=2, downsample_blocks=1), data.info)
cfg = AugSelfGANConfig(dim_z=8, g_channels=8, d_steps=2, sample_every=0, policy=policy, augself="translation")
obj = AugSelfGAN(cfg, trunk, data.info)
phases = {p.name: p for p in obj.phases()}
d_params = [q for m in (obj.encoder, obj.d_linear, obj.augself_heads) + ((obj.d_embed,) if obj.d_embed is not None else ()) for q in m.parameters()]
g_params = list(obj.generator.parameters())
od = torch.optim.Adam(d_params, lr=lr, betas=(0.0, 0.999)); og = torch.optim.Adam(g_params, lr=lr, betas=(0.0, 0.999))
train = data.split("train").__getitems__(list(range(len(data.split("train")))))
test = data.split("test").__getitems__(list(range(len(data.split("test")))))
rows = torch.Generator().manual_seed(seed)
head = obj.augself_heads["translation"]

def r2(pred, target):
    return (1 - ((pred - target) ** 2).sum(0) / ((target - target.mean(0)) ** 2).sum(0)).tolist()

def measure(step):
    obj.eval()
    with torch.no_grad():
        torch.manual_seed(999)
        x = test["x"]
        aug, om = diff_augment(x, ("translation",), obj.strengths)
        real = head(trunk.features(aug) - trunk.features(x))
        z, y = obj._latents(x.shape[0], x.device)
        fake = obj.generator(z, y)
        augf, omf = diff_augment(fake, ("translation",), obj.strengths)
        predf = head(trunk.features(augf) - trunk.features(fake))
    obj.train()
    slope = lambda p, t: float((p * t).sum() / (t * t).sum())
    print(json.dumps({"step": step, "lr": lr, "policy": policy, "seed": seed, "r2_real_vs_plus_omega": r2(real, om["translation"]),
                      "r2_fake_vs_minus_omega": r2(predf, -omf["translation"]),
                      "slope_real": slope(real, om["translation"]), "slope_fake": slope(predf, omf["translation"])}), flush=True)

t0 = time.process_time()
for step in range(1, max(steps_list) + 1):
    idx = torch.randint(0, train["x"].shape[0], (32,), generator=rows)
    batch = {"x": train["x"][idx], "label": train["label"][idx]}
    for _ in range(cfg.d_steps):
        out = obj.training_step(batch, step=step, phase="discriminator"); od.zero_grad(); out["loss"].backward(); od.step()
    out = obj.training_step(batch, step=step, phase="generator"); og.zero_grad(); out["loss"].backward(); og.step()
    if step in steps_list:
        measure(step)
print("cpu", time.process_time() - t0)
