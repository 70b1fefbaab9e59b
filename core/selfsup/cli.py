"""The ``selfsup`` command.

    selfsup pretrain [--config FILE] [--print-config] key=value ...
    selfsup evaluate run_dir=DIR [evaluators=[...]] [cv=K] [key=value ...]
    selfsup list [modalities|encoders|objectives|evaluators|datasets] [--modality M]
    selfsup info NAME [--kind KIND] [--modality M]
    selfsup plugins
    selfsup embed run_dir=DIR data.root=PATH out=FILE.parquet|FILE.npy
    selfsup export run_dir=DIR format=onnx|torchscript|safetensors [out=DIR]
    selfsup distill run_dir=DIR size=N [steps=200] [out=DIR] [transfer=true]
    selfsup runs DIR... [--format table|csv|markdown] [--out FILE]
    selfsup <plugin command> ...      (``register_commands``: selfsup.commands)
    selfsup --version

Errors of the ``SelfsupError`` family are printed as one line, without a traceback,
and exit with status 2 (``TrainingInterrupted``: 128 + the signal's number; an abort by
Ctrl-C: 130).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from omegaconf import OmegaConf

from . import runs
from .cli_distill import COMMANDS as DISTILL_COMMANDS
from .cli_distill import add_parser as add_distill_parser
from .cli_embed import COMMANDS as EMBED_COMMANDS
from .cli_embed import add_parsers as add_embed_parsers
from .errors import ConfigError, SelfsupError

__all__ = ["main"]

LIST_KINDS = ("modalities", "encoders", "objectives", "evaluators", "datasets", "loggers", "strategies")


def _parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="selfsup", description="Self-supervised pretraining across modalities.")
    parser.add_argument("--version", action=_VersionAction, help="print the core's and every plugin's version and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    pretrain = sub.add_parser("pretrain", help="pretrain an encoder and evaluate it")
    pretrain.add_argument("--config", help="a YAML config, e.g. an earlier run's config.yaml")
    pretrain.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    pretrain.add_argument("overrides", nargs="*", metavar="key=value")
    evaluate = sub.add_parser("evaluate", help="evaluate a finished run again")
    evaluate.add_argument("overrides", nargs="*", metavar="key=value", help="run_dir=DIR and config overrides")
    listing = sub.add_parser("list", help="list installed components")
    listing.add_argument("kind", nargs="?", choices=LIST_KINDS)
    listing.add_argument("--modality")
    info = sub.add_parser("info", help="describe one component: provider, description, config defaults")
    info.add_argument("name")
    info.add_argument("--kind", choices=[{"modalities": "modality", "strategies": "strategy"}.get(k, k[:-1]) for k in LIST_KINDS])
    info.add_argument("--modality")
    sub.add_parser("plugins", help="list plugins with distribution, version and status")
    add_embed_parsers(sub)
    add_distill_parser(sub)
    runs.add_parser(sub)
    _add_plugin_commands(sub, argv)
    return parser


def _add_plugin_commands(sub: Any, argv: Sequence[str]) -> None:
    """The plugins' subcommands (:mod:`selfsup.commands`), only when ``argv`` names none of the core's."""
    from .commands import add_plugin_commands
    from .plugins import get_plugins

    add_plugin_commands(sub, argv, core=set(sub.choices), load_plugins=get_plugins)


class _VersionAction(argparse.Action):
    """``selfsup --version``: the core's and each plugin's versions (plugins load only here)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from .describe import version_text

        print(version_text())
        parser.exit()


def _show_selfsup_warnings() -> None:
    """Print :class:`~selfsup.errors.SelfsupWarning` as ``selfsup: warning: ...`` (one line,
    no source line); other warnings keep Python's format."""
    from .errors import SelfsupWarning

    default = warnings.showwarning
    if getattr(default, "_selfsup", False):  # already installed (main called again)
        return

    def show(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        if issubclass(category, SelfsupWarning):
            print(f"selfsup: warning: {message}", file=sys.stderr if file is None else file)
        else:
            default(message, category, filename, lineno, file, line)

    show._selfsup = True  # type: ignore[attr-defined]
    warnings.showwarning = show


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _show_selfsup_warnings()
    try:
        parser = _parser(argv)
    except SelfsupError as exc:  # e.g. a plugin's register_commands failing under SELFSUP_STRICT_PLUGINS=1
        print(f"selfsup: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        code = {
            "pretrain": _pretrain,
            "evaluate": _evaluate,
            "list": _list,
            "info": _info,
            "plugins": _plugins,
            **EMBED_COMMANDS,
            **DISTILL_COMMANDS,
            "runs": runs.command,
        }.get(args.command, _plugin_command)(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except SelfsupError as exc:
        print(f"selfsup: error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))  # TrainingInterrupted: 128 + the signal's number
    except KeyboardInterrupt:  # a second Ctrl-C while training, or Ctrl-C outside training
        print("selfsup: aborted by Ctrl-C; nothing was saved since the last checkpoint.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _closed_pipe()


def _plugin_command(args: argparse.Namespace) -> int:
    from .commands import run_plugin_command

    return run_plugin_command(args)


def _closed_pipe() -> int:
    """``selfsup ... | head``: the reader left; exit quietly (Python would print a traceback at exit)."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
    os.close(devnull)
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    from .config import load_user_config, parse_dotlist, resolve, reuse_saved_config
    from .outputs import format_table
    from .engine.distributed import DistributedContext
    from .registry import get_registry
    from .run import run_resolved

    user = parse_dotlist(args.overrides)
    if args.config:
        user = OmegaConf.merge(reuse_saved_config(load_user_config(args.config), user), user)
    resolved = resolve(user, get_registry())
    if args.print_config:  # after the data's task and data fixes (selfsup.print_config)
        from .print_config import print_config

        return print_config(resolved)
    result = run_resolved(resolved)
    if not DistributedContext.from_env().is_main:  # under torchrun, rank 0 reports
        return 0
    cfg = resolved.config
    print(f"\nselfsup: {cfg.objective} on {cfg.dataset} ({cfg.modality}, encoder {cfg.encoder}, seed {cfg.seed})")
    evaluations = json.loads((result.run_dir / "metrics.json").read_text()).get("evaluations", {})
    print(format_table(result.metrics, result.random_init_metrics, results=evaluations))
    if result.best_during_training:
        best = result.best_during_training
        values = ", ".join(f"{key} {value:.4f}" for key, value in best["metrics"].items())
        print(f"\nbest during training (step {best['step']}, by {best['select']}): {values}")
    skipped = json.loads((result.run_dir / "metrics.json").read_text())["run"].get("skipped", 0)
    if skipped:
        print(f"\n{skipped} unreadable input(s) were skipped; data_info.json names them.")
    print(f"\nrun saved in {result.run_dir}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .config import parse_dotlist
    from .outputs import format_table
    from .scoring import evaluate

    overrides = OmegaConf.to_container(parse_dotlist(args.overrides))
    assert isinstance(overrides, dict)
    run_dir = overrides.pop("run_dir", None)
    if not run_dir:
        raise ConfigError("selfsup evaluate needs run_dir=<folder of a finished run>.")
    evaluators = overrides.pop("evaluators", None)
    folds = overrides.pop("cv", None)
    if folds is not None:  # cv=K: mean ± std over K folds of the dataset (selfsup.cv)
        from .cv import cross_validate

        results = cross_validate(run_dir, folds, evaluators, **overrides)
    else:
        results = evaluate(run_dir, evaluators, **overrides)
    print(format_table({}, {}, results=results))
    return 0


def _list(args: argparse.Namespace) -> int:
    from .registry import get_registry

    registry = get_registry()
    kinds = [args.kind] if args.kind else list(LIST_KINDS)
    for kind in kinds:
        specs = registry.list(kind, args.modality)
        print(f"{kind}:")
        for spec in specs:
            where = f"{spec.modality}/" if hasattr(spec, "modality") else ""
            scope = ""
            if getattr(spec, "modalities", None):
                scope = f" [{', '.join(sorted(spec.modalities))}]"
            print(f"  {where}{spec.name}{scope}  ({spec.provider})  {spec.description}")
        if not specs:
            print("  (none)")
    return 0


def _info(args: argparse.Namespace) -> int:
    from .describe import config_lines
    from .errors import UnknownComponentError
    from .registry import KINDS, get_registry

    registry = get_registry()
    kinds = [args.kind] if args.kind else list(KINDS)
    found = []
    for kind in kinds:
        for spec in registry.list(kind):
            if spec.name == args.name.lower() or args.name.lower() in spec.aliases:
                if args.modality and getattr(spec, "modality", args.modality) != args.modality:
                    continue
                found.append((kind, spec))
    if not found:
        names = sorted({s.name for k in KINDS for s in registry.list(k)})
        from .errors import did_you_mean

        raise UnknownComponentError(
            f"No component named '{args.name}'.{did_you_mean(args.name, names)} Run 'selfsup list' to see them all."
        )
    for kind, spec in found:
        print(f"{kind} {spec.name}" + (f" (modality {spec.modality})" if hasattr(spec, "modality") else ""))
        print(f"  provider: {spec.provider} (plugin '{spec.plugin}')")
        if spec.description:
            print(f"  description: {spec.description}")
        if kind == "modality":
            print(
                f"  defaults: encoder={spec.default_encoder} objective={spec.default_objective} "
                f"dataset={spec.default_dataset} evaluators={list(spec.default_evaluators)}"
            )
            if spec.overrides:
                print(f"  config overrides: {json.dumps(dict(spec.overrides))}")
        if getattr(spec, "modalities", None):
            print(f"  modalities: {', '.join(sorted(spec.modalities))}")
        if kind == "evaluator":  # the declared tasks it scores (selfsup.tasks)
            tasks = ", ".join(sorted(spec.tasks)) if spec.tasks is not None else "any (labels not needed)"
            print(f"  tasks: {tasks}" + (f" (one label per {spec.label_level})" if spec.label_level else ""))
        if hasattr(spec, "config_cls"):
            for line in config_lines(kind, spec.name, spec.config_cls):
                print(line)
        if getattr(spec, "trainer_defaults", None):
            print(f"  trainer defaults: {json.dumps(dict(spec.trainer_defaults))}")
        _print_objective_choices(spec)
    return 0


def _print_objective_choices(spec: object) -> None:
    """What an objective names: the encoders it trains, its default encoder and dataset."""
    if getattr(spec, "encoders", ()):
        print(f"  encoders: {', '.join(spec.encoders)}")  # type: ignore[attr-defined]
    for label, attribute in (("default encoder", "default_encoder"), ("default dataset", "default_dataset")):
        if getattr(spec, attribute, None):
            print(f"  {label}: {getattr(spec, attribute)}")
    if getattr(spec, "data_defaults", None):
        print(f"  data defaults: {json.dumps(dict(spec.data_defaults))}")  # type: ignore[attr-defined]


def _plugins(args: argparse.Namespace) -> int:
    from .registry import list_plugins

    rows = [("name", "distribution", "version", "status", "hooks")]
    for status in list_plugins():
        rows.append((status.name, status.distribution or "-", status.version or "-", status.status, ",".join(h.removeprefix("register_") for h in status.hooks)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    for status in list_plugins():
        if status.error:
            print(f"\n{status.name}: {status.error}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
