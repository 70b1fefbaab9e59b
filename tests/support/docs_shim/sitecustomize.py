"""Loaded by every Python process the docs test starts (it is first on their PYTHONPATH).

With ``SELFSUP_DOCS_MAX_STEPS=N`` in the environment, every config selfsup resolves gets
``trainer.max_steps=N`` on top. A run that the ``selfsup`` command pretrains is resolved as
written (so its evaluator names and settings are checked) and then run with no evaluators
(``evaluators=[]``, ``trainer.eval_every=0``): the evaluators on real data cost minutes.
``selfsup evaluate`` and the Python API (whose blocks read ``result.metrics``) keep theirs.
With ``SELFSUP_DOCS_RESOLVE_ONLY=1`` as well, a run the ``selfsup`` command pretrains is
resolved as written and the process then exits with status 0 without building anything: the
docs test uses it for a command that ``tests/test_default_commands.py`` runs in full.
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
        # The ``selfsup`` command (also ``python -m selfsup``) only: Python blocks read result.metrics.
        cli = bool(sys.argv) and os.path.basename(sys.argv[0]) in ("selfsup", "__main__.py")
        if not cli or sys._getframe(1).f_code.co_name == "resolve_saved_run":  # API, evaluate: keep them
            return _resolve(config, registry)
        _resolve(config, registry)  # the documented evaluators must exist and their settings be valid
        if os.environ.get("SELFSUP_DOCS_RESOLVE_ONLY"):
            print("docs-test: resolved as written; run in full by tests/test_default_commands.py", file=sys.stderr)
            raise SystemExit(0)
        config = OmegaConf.merge(config, _NO_EVALUATION)
        config.pop("evaluator_config", None)  # e.g. a saved config.yaml's, for evaluators now left out
        return _resolve(config, registry)

    selfsup.config.resolve = _small_budget
