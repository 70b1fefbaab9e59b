"""Image SSL pretraining helps a downstream probe: the encoder pretrained by a registered image
objective through :func:`selfsup.pretrain` beats its random-init twin (same seed, same
architecture; the run's own ``random_init_metrics``) on the core ``knn`` probe (cosine, k = 20,
T = 0.07) of the embedded ``digits`` test split (scikit-learn's 1,797 real 8×8 digits, upsampled
to 16×16, the dataset's default 80/10/10 split; 180 test images). One parametrised test over
:data:`SETTINGS`; today only ``simclr`` shows a gain above the seed-to-seed spread at test size
(the other image objectives' attempts are listed below, with their numbers).

Setting (shared, :data:`TRAINER`): batch 64, AdamW lr 1e-3 (wd 1e-4, cosine, 5 % warm-up), one
thread, the steps in :data:`SETTINGS`. The objectives' losses, views (the presets' crops and photometric
policies, global crops of area 0.4-1 for 16-px digits), heads, EMA targets and schedules are the
real ones; only the widths are CPU-sized: the joint-embedding encoder is timm's ``vit-tiny`` with
2 blocks (``encoder_config.depth=2``) and 4-px patches (16 tokens); heads narrowed in
:data:`SETTINGS`. The numbers in each test's docstring were measured with exactly these settings
(seeds 0, 1, 2, one torch thread) by ``_measure`` below. Cost: about 21 CPU-seconds per run
(pretraining, two k-NN evaluations and the imports), measured on the shared 2-core machine.

Not shown at test size (2026-12-07, seed 0, k-NN pretrained / random init on the same split; batch
64, AdamW lr 1e-3 unless noted), so these objectives have no test here yet:

* ``byol``, ``dino``: every setting tried, then and since, is in ``test_vision_ssl_quality_ema.py``'s docstring.
* ``swav``, ``seer``: see ``test_vision_ssl_quality_proto.py``.
"""

from __future__ import annotations

import pytest

from selfsup import pretrain

TRAINER = {"batch_size": 64, "progress": "off", "device": "cpu", "optimizer": "adamw", "lr": 1e-3,
           "weight_decay": 1e-4, "threads": 1}
VIT = {"size": "tiny", "patch_size": 4, "depth": 2}
VIEWS = {"global_scale": [0.4, 1.0]}
#: objective -> (steps, encoder, encoder_config, objective_config)
SETTINGS: dict[str, tuple[int, str, dict, dict]] = {
    "simclr": (60, "vit-tiny", VIT, {**VIEWS, "proj_hidden_dim": 192, "proj_dim": 64}),
}
#: objective -> the asserted k-NN gain at seed 0 (below the smallest measured gain, above the 3-seed spread).
MARGIN = {"simclr": 0.05}


def _knn(objective: str, seed: int, tmp_path) -> tuple[float, float]:
    steps, encoder, encoder_config, objective_config = SETTINGS[objective]
    result = pretrain(
        modality="vision", objective=objective, dataset="digits", encoder=encoder, evaluators=["knn"], seed=seed,
        run_dir=tmp_path / f"{objective}-{seed}", encoder_config=encoder_config, objective_config=objective_config,
        trainer={**TRAINER, "max_steps": steps},
    )
    return result.metrics["knn/accuracy"], result.random_init_metrics["knn/accuracy"]


def _measure(objective: str, seeds=(0, 1, 2)) -> None:  # pragma: no cover - how the docstrings' numbers were measured
    import tempfile
    from pathlib import Path

    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            print(objective, seed, *(f"{v:.3f}" for v in _knn(objective, seed, Path(tmp))), flush=True)


@pytest.mark.slow
@pytest.mark.parametrize("objective", list(SETTINGS))
def test_pretrained_encoder_beats_its_random_init_twin_on_digits_knn(objective: str, tmp_path) -> None:
    """k-NN accuracy on the 180 test digits, seed 0, pretrained vs random init (same seed).

    Measured (seeds 0 / 1 / 2; gain = pretrained − random init):

    ========  =======================  =======================  ======================  ==========
    method    pretrained                random init              gain                    CPU-s/run
    ========  =======================  =======================  ======================  ==========
    simclr    0.572 / 0.567 / 0.606     0.472 / 0.500 / 0.478    +0.100 / +0.067 / +0.128  ≈ 21
    ========  =======================  =======================  ======================  ==========

    SimCLR: seed-to-seed range 0.039 (pretrained) and 0.028 (random init); margin 0.05. With the
    mutant ``vis-simclr-one-view`` (both projections from the first view) this test fails at
    seed 0 (0.506 / 0.472, +0.033), while every non-slow vision test passes.

    Asserted at seed 0: a gain above :data:`MARGIN` (below the smallest measured gain, above the
    largest seed-to-seed spread of either encoder's accuracy)."""
    pretrained, random_init = _knn(objective, 0, tmp_path)
    assert pretrained - random_init > MARGIN[objective], (objective, pretrained, random_init)
