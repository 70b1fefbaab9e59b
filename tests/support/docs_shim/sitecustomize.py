"""Loaded by every Python process the docs test starts (it is first on their PYTHONPATH).

With ``SELFSUP_DOCS_MAX_STEPS=N`` in the environment, every config selfsup resolves gets
``trainer.max_steps=N`` on top, and a config that does not name its ``evaluators`` gets
``evaluators=[]`` and ``trainer.eval_every=0`` (the modality's default evaluators on real
data cost minutes; commands that name evaluators, and ``selfsup evaluate``, still run them).
So the documented commands run verbatim on a tiny budget.
"""

import os

if os.environ.get("SELFSUP_DOCS_MAX_STEPS"):
    from omegaconf import DictConfig, OmegaConf

    import selfsup.config  # light (no torch); selfsup.run binds the patched resolve when imported

    _resolve = selfsup.config.resolve
    _STEPS = int(os.environ["SELFSUP_DOCS_MAX_STEPS"])

    def _small_budget(user, registry):  # type: ignore[no-untyped-def]
        config = user if isinstance(user, DictConfig) else OmegaConf.create(dict(user))
        small = {"trainer": {"max_steps": _STEPS}}
        if config.get("evaluators") is None:
            small = {"evaluators": [], "trainer": {"max_steps": _STEPS, "eval_every": 0}}
        return _resolve(OmegaConf.merge(config, small), registry)

    selfsup.config.resolve = _small_budget
