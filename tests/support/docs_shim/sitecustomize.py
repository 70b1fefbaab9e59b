"""Loaded by every Python process the docs test starts (it is first on their PYTHONPATH).

With ``SELFSUP_DOCS_MAX_STEPS=N`` in the environment, every config selfsup resolves gets
``trainer.max_steps=N`` on top. A run to pretrain is resolved as written (so its evaluator
names and settings are checked) and then run with no evaluators (``evaluators=[]``,
``trainer.eval_every=0``): the evaluators on real data cost minutes. ``selfsup evaluate``
and ``selfsup.evaluate`` (which resolve a saved run) still run the evaluators they name.
"""

import os
import sys

if os.environ.get("SELFSUP_DOCS_MAX_STEPS"):
    from omegaconf import DictConfig, OmegaConf

    import selfsup.config  # light (no torch); selfsup.run binds the patched resolve when imported

    _resolve = selfsup.config.resolve
    _STEPS = int(os.environ["SELFSUP_DOCS_MAX_STEPS"])
    _NO_EVALUATION = {"evaluators": [], "trainer": {"eval_every": 0, "eval_during_training": []}}

    def _small_budget(user, registry):  # type: ignore[no-untyped-def]
        config = user if isinstance(user, DictConfig) else OmegaConf.create(dict(user))
        config = OmegaConf.merge(config, {"trainer": {"max_steps": _STEPS}})
        if sys._getframe(1).f_code.co_name == "_resolve_saved":  # evaluate(): keep its evaluators
            return _resolve(config, registry)
        _resolve(config, registry)  # the documented evaluators must exist and their settings be valid
        return _resolve(OmegaConf.merge(config, _NO_EVALUATION), registry)

    selfsup.config.resolve = _small_budget
