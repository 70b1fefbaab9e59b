"""The docs cover the code: every hook, error class, trainer key and CLI subcommand,
and the error messages the plugin guide quotes are the ones the code produces."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import types
import warnings
from pathlib import Path

import pytest

from selfsup import errors, hookspecs
from selfsup.config import TrainerConfig

DOCS = Path(__file__).resolve().parents[1] / "docs"
PLUGINS_MD = DOCS / "plugins.md"
USER_GUIDE_MD = DOCS / "user-guide.md"


def _text(path: Path) -> str:
    assert path.is_file(), f"{path} is missing"
    return path.read_text()


# --------------------------------------------------------------------------- (a) hooks


def _hookspec_functions() -> list[types.FunctionType]:
    marker = f"{hookspecs.PROJECT_NAME}_spec"  # set by pluggy's HookspecMarker
    return [f for _, f in sorted(vars(hookspecs).items()) if inspect.isfunction(f) and hasattr(f, marker)]


def _annotation(annotation: object) -> str:
    # hookspecs.py uses ``from __future__ import annotations``: annotations are the source text.
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def hook_signature(function: types.FunctionType) -> str:
    """``name(params) -> Return`` with annotations as written in hookspecs.py."""
    signature = inspect.signature(function)
    params = []
    for param in signature.parameters.values():
        text = param.name
        if param.annotation is not inspect.Parameter.empty:
            text += f": {_annotation(param.annotation)}"
        if param.default is not inspect.Parameter.empty:
            text += f" = {param.default!r}"
        params.append(text)
    result = f"{function.__name__}({', '.join(params)})"
    if signature.return_annotation is not inspect.Signature.empty:
        result += f" -> {_annotation(signature.return_annotation)}"
    return result


def test_hookspecs_are_found():
    names = {f.__name__ for f in _hookspec_functions()}
    assert {"register_modalities", "register_encoders", "register_objectives"} <= names


@pytest.mark.parametrize("function", _hookspec_functions(), ids=lambda f: f.__name__)
def test_every_hook_has_a_section_headed_with_its_exact_signature(function):
    heading = f"### `{hook_signature(function)}`"
    headings = [line.strip() for line in _text(PLUGINS_MD).splitlines() if line.startswith("#")]
    assert heading in headings, (
        f"docs/plugins.md has no section for hook {function.__name__}. Add a heading line exactly\n"
        f"    {heading}\nwith its parameters, return type, uniqueness rule and an example. "
        f"Headings mentioning it: {[h for h in headings if function.__name__ in h]}"
    )


def test_signature_builder_keeps_annotations_as_written():
    # This module also uses ``from __future__ import annotations``: these stay unevaluated text.
    def register_things(kind: str, limit: int = 3) -> Iterable[ThingSpec]:  # noqa: F821
        ...

    assert hook_signature(register_things) == "register_things(kind: str, limit: int = 3) -> Iterable[ThingSpec]"


# --------------------------------------------------------------------------- (b) errors


def _error_classes() -> list[str]:
    return [
        name
        for name in errors.__all__
        if inspect.isclass(getattr(errors, name)) and issubclass(getattr(errors, name), BaseException)
    ]


@pytest.mark.parametrize("name", _error_classes())
def test_every_error_class_is_in_the_plugin_guide(name):
    assert re.search(rf"`{name}`", _text(PLUGINS_MD)), f"docs/plugins.md does not mention `{name}` (add it to the error table)"


# --------------------------------------------------------------------------- (c) trainer keys


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(TrainerConfig)])
def test_every_trainer_key_is_in_the_user_guide(field):
    assert f"`trainer.{field}`" in _text(USER_GUIDE_MD), (
        f"docs/user-guide.md does not describe `trainer.{field}` (add a row to the trainer keys table)"
    )


# --------------------------------------------------------------------------- (d) CLI


def _subcommands() -> list[str]:
    from selfsup.cli import _parser

    actions = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return sorted(actions[0].choices)


def test_cli_has_subcommands():
    assert {"pretrain", "evaluate", "list", "info", "plugins"} <= set(_subcommands())


@pytest.mark.parametrize("command", _subcommands())
def test_every_cli_subcommand_is_in_the_user_guide(command):
    assert f"selfsup {command}" in _text(USER_GUIDE_MD), f"docs/user-guide.md does not document 'selfsup {command}'"


# --------------------------------------------------------------------------- (e) quoted messages


def _EntryPoint(name: str, target: object):  # noqa: N802 (reads as the class it stands for)
    from selfsup.testing import FakeEntryPoint

    return FakeEntryPoint(name, target)


def _acme(**hooks) -> types.ModuleType:
    from selfsup.testing import hook_module

    return hook_module("acme_plugin", **hooks)


def _plugin_set(monkeypatch, *entry_points, strict=True, toy=False):
    from selfsup.plugins import PluginSet

    monkeypatch.setattr("selfsup.plugins._entry_points", lambda: list(entry_points))
    plugins = PluginSet(strict=strict)
    plugins.load_builtins()
    plugins.load_entry_points()
    if toy:
        import selfsup_toy  # tests/support, put on sys.path by tests/conftest.py

        plugins.register(selfsup_toy, name="toy")
    return plugins


def _registry(monkeypatch, *entry_points):
    from selfsup.registry import Registry

    return Registry(_plugin_set(monkeypatch, *entry_points, toy=True))


def _message(call) -> str:
    with pytest.raises(errors.SelfsupError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call()
    return str(info.value)


def _load_error(mp):
    return _plugin_set(mp, _EntryPoint("acme", ModuleNotFoundError("No module named 'torchaudio'")))


def _unknown_hook(mp):
    def register_encoder():
        return []

    return _plugin_set(mp, _EntryPoint("acme", _acme(register_encoder=register_encoder)))


def _bad_signature(mp):
    def register_encoders(cfg):
        return []

    return _plugin_set(mp, _EntryPoint("acme", _acme(register_encoders=register_encoders)))


def _wrong_type(mp):
    import torch

    def register_encoders():
        return [torch.nn.Linear(1, 1)]

    return _registry(mp, _EntryPoint("acme", _acme(register_encoders=register_encoders)))


def _bad_name(mp):
    from selfsup import EncoderSpec

    return EncoderSpec(name="My Encoder", modality="x", factory="a:b")


def _conflict(mp):
    from selfsup import EvaluatorSpec

    def register_evaluators():
        return [EvaluatorSpec(name="knn", factory="a:b")]

    return _registry(mp, _EntryPoint("acme", _acme(register_evaluators=register_evaluators))).get(
        "evaluator", "knn", modality="toy"
    )


def _unknown_encoder(mp):
    return _registry(mp).get("encoder", "mpl", modality="toy")


def _unknown_modality(mp):
    return _registry(mp).get("modality", "graph")


def _incompatible(mp):
    from selfsup import ObjectiveSpec

    def register_objectives():
        return [ObjectiveSpec(name="mae", modalities=frozenset({"vision"}), factory="a:b")]

    return _registry(mp, _EntryPoint("acme", _acme(register_objectives=register_objectives))).get(
        "objective", "mae", modality="toy"
    )


def _builtin_blocked(mp):
    mp.setenv("SELFSUP_DISABLE_PLUGINS", "selfsup-builtin")
    return _plugin_set(mp)


def _config_key(mp):
    from selfsup.config import resolve

    return resolve({"modality": "toy", "trainer": {"max_step": 3}}, _registry(mp))


def _config_value(mp):
    from selfsup.config import resolve

    return resolve({"modality": "toy", "trainer": {"max_steps": "abc"}}, _registry(mp))


QUOTED = {
    "PluginError": (_builtin_blocked, None),
    "PluginLoadError": (_load_error, None),
    "PluginValidationError": (_unknown_hook, None),
    "PluginValidationError-signature": (_bad_signature, None),
    "RegistrationError": (_wrong_type, None),
    "RegistrationError-name": (_bad_name, None),
    "PluginConflictError": (_conflict, None),
    "UnknownComponentError": (_unknown_encoder, None),
    "UnknownComponentError-modality": (_unknown_modality, None),
    "IncompatibleComponentsError": (_incompatible, None),
    "ConfigError": (_config_key, None),
    "ConfigError-value": (_config_value, None),
}


@pytest.mark.parametrize("case", sorted(QUOTED))
def test_quoted_error_messages_match_the_code(case, monkeypatch):
    produce, _ = QUOTED[case]
    message = _message(lambda: produce(monkeypatch))
    text = _text(PLUGINS_MD)
    if "\n" in message:  # multi-line (pluggy's text): quoted in a code block
        assert message in text, f"docs/plugins.md should quote this {case} message verbatim:\n{message}"
    else:
        assert f"`{message}`" in text, f"docs/plugins.md should quote this {case} message verbatim:\n`{message}`"


def test_quoted_runtime_messages_match_their_templates(toy, tmp_path, monkeypatch):
    """Messages whose text depends on paths or plugins not at hand: same template."""
    import torch

    from selfsup import pretrain
    from selfsup.evaluation.features import extract_features
    from selfsup.specs import EncoderSpec
    from selfsup_toy import Blobs, BlobsConfig

    text = _text(PLUGINS_MD)
    spec = EncoderSpec(name="beats", modality="audio", factory="a:b", requires=("acme-beats>=2.2",))
    spec = spec.stamped("audio", "selfsup-audio", "0.3.1")
    message = _message(spec.resolve_factory).replace("acme-beats", "torchaudio")
    assert f"`{message}`" in text

    monkeypatch.chdir(tmp_path)
    message = _message(lambda: pretrain(modality="toy", run_dir="runs/ts", trainer={"resume": True}))
    assert f"`{message}`" in text

    class Flat(torch.nn.Module):
        embed_dim = 4

        def forward(self, batch):
            return batch["x"].reshape(-1, 4, 2)

    data = Blobs(BlobsConfig())
    message = _message(lambda: extract_features(Flat(), data, "test", device="cpu", batch_size=8, evaluator="linear-probe"))
    assert f"`{message}`" in text

    from selfsup.config import TrainerConfig
    from selfsup.engine.trainer import Trainer
    from selfsup_toy import Denoise, DenoiseConfig, MLPConfig, MLPEncoder

    objective = Denoise(DenoiseConfig(nan_at_step=12), MLPEncoder(MLPConfig(), data.info), data.info)
    trainer = Trainer(TrainerConfig(max_steps=20, batch_size=32, checkpoint_every=10, device="cpu", progress="off"), run_dir="runs/ts")
    message = _message(lambda: trainer.fit(objective, data))
    assert f"`{message}`" in text
