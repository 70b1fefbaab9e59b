"""A deliberately broken third-party plugin never breaks what does not use it.

Each fault (import error, wrong return type, bad config type, a name clash with a
first-party default, a wrong ``embed_dim``) is installed beside the toy plugin in a
non-strict plugin set, as entry points are in real use; then unrelated commands
must work and ``selfsup plugins`` must tell the truth.
"""

from __future__ import annotations

import types
import warnings
from dataclasses import dataclass, field

import pytest
import torch
from torch import nn

from selfsup import EncoderSpec, ObjectiveSpec, pretrain
from selfsup import plugins as plugins_module
from selfsup import registry as registry_module
from selfsup.cli import main
from selfsup.errors import EncoderOutputError, PluginConflictError, RegistrationError, UnknownComponentError
from selfsup.plugins import PluginSet
from selfsup.testing import FakeEntryPoint, hook_module

TINY = {"trainer": {"max_steps": 2, "batch_size": 32, "progress": "off"}}


_EntryPoint = FakeEntryPoint


def _module(**hooks) -> types.ModuleType:
    return hook_module("acme_plugin", **hooks)


def _install(monkeypatch, target: object) -> PluginSet:
    """The built-ins, the toy plugin and ``acme`` (an entry point), not strict, as the process-wide set."""
    import selfsup_toy

    monkeypatch.setattr("selfsup.plugins._entry_points", lambda: [_EntryPoint("acme", target)])
    plugins = PluginSet(strict=False)
    plugins.load_builtins()
    plugins.register(selfsup_toy, name="toy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plugins.load_entry_points()
    monkeypatch.setattr(plugins_module, "_PLUGINS", plugins)
    monkeypatch.setattr(registry_module, "_REGISTRY", None)
    return plugins


def _statuses(capsys) -> dict[str, str]:
    """``selfsup plugins`` as ``{name: status}``, plus the output under key ``""``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()[1:] if line and not line.startswith(" ") and ":" not in line]
    return {row[0]: row[3] for row in rows if len(row) >= 4} | {"": out}


def _unrelated_commands_work(tmp_path, capsys) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["list", "objectives"]) == 0
        assert "denoise" in capsys.readouterr().out
        assert main(["info", "mlp"]) == 0
        assert "encoder mlp" in capsys.readouterr().out
        result = pretrain(modality="toy", run_dir=tmp_path / "toy", evaluators=["linear-probe"], **TINY)
    assert result.metrics["linear-probe/accuracy"] > 0.5  # blobs are separable; a broken run has no metrics


def _objectives_as_dict():
    return {"acme-objective": ObjectiveSpec(name="acme-objective", factory="a:b")}


@dataclass
class _SetConfig:
    ids: set[int] = field(default_factory=set)


def _set_config_encoders():
    return [EncoderSpec(name="setty", modality="toy", factory="a:b", config_cls=_SetConfig)]


def test_import_error_marks_the_plugin_and_nothing_else(monkeypatch, tmp_path, capsys):
    _install(monkeypatch, ModuleNotFoundError("No module named 'acme_deps'"))
    statuses = _statuses(capsys)
    assert statuses["acme"] == "error" and statuses["toy"] == "ok" and statuses["selfsup-builtin"] == "ok"
    assert "acme: Plugin 'acme' (acme-ssl 1.2.0) failed to load: ModuleNotFoundError" in statuses[""]
    _unrelated_commands_work(tmp_path, capsys)


def test_wrong_return_type_names_the_real_type_and_plugins_says_error(monkeypatch, tmp_path, capsys):
    _install(monkeypatch, _module(register_objectives=_objectives_as_dict))
    statuses = _statuses(capsys)
    assert statuses["acme"] == "error" and statuses["toy"] == "ok"
    assert "register_objectives() of plugin 'acme' (acme-ssl 1.2.0) returned dict; expected a list of ObjectiveSpec" in statuses[""]
    _unrelated_commands_work(tmp_path, capsys)
    with pytest.raises(UnknownComponentError, match="acme-objective.*Note: plugin 'acme'.*returned dict"):
        pretrain(modality="toy", objective="acme-objective", run_dir=tmp_path / "acme")


def test_a_failing_hook_drops_every_component_of_its_plugin(monkeypatch, tmp_path, capsys):
    def encoders():
        return [EncoderSpec(name="fine", modality="toy", factory="a:b")]

    def objectives():
        raise RuntimeError("boom")

    _install(monkeypatch, _module(register_encoders=encoders, register_objectives=objectives))
    assert _statuses(capsys)["acme"] == "error"
    assert "fine" not in {spec.name for spec in registry_module.get_registry().list("encoders")}
    _unrelated_commands_work(tmp_path, capsys)


def test_unsupported_config_field_type_is_caught_at_registration(monkeypatch, tmp_path, capsys):
    _install(monkeypatch, _module(register_encoders=_set_config_encoders))
    statuses = _statuses(capsys)
    assert statuses["acme"] == "error"
    assert "Encoder 'setty' of plugin 'acme' (acme-ssl 1.2.0) has a config dataclass _SetConfig that OmegaConf cannot use (field 'ids')" in statuses[""]
    _unrelated_commands_work(tmp_path, capsys)


def test_unsupported_config_field_type_raises_in_strict_mode(register_plugin):
    register_plugin(_module(register_encoders=_set_config_encoders), name="acme")
    with pytest.raises(RegistrationError, match="set\\[int\\]"):
        registry_module.get_registry()


def test_a_name_clash_with_a_first_party_default_keeps_the_modality_defaults(monkeypatch, tmp_path, capsys):
    """acme registers 'denoise' and 'mlp' and 'blobs' for toy: the toy defaults still resolve to toy's own."""
    from selfsup_toy import DenoiseConfig

    def objectives():
        return [ObjectiveSpec(name="denoise", factory="acme_missing:Objective", config_cls=DenoiseConfig)]

    def encoders():
        return [EncoderSpec(name="mlp", modality="toy", factory="acme_missing:Encoder")]

    _install(monkeypatch, _module(register_objectives=objectives, register_encoders=encoders))
    assert _statuses(capsys)["acme"] == "ok"  # a clash is legal; only an unqualified user choice is ambiguous
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = pretrain(modality="toy", run_dir=tmp_path / "plain", evaluators=["linear-probe"], **TINY)
    assert result.config["objective"] == "toy:denoise" and result.config["encoder"] == "toy:mlp"
    assert result.metrics["linear-probe/accuracy"] > 0.5
    saved = (tmp_path / "plain" / "config.yaml").read_text()
    assert "objective: toy:denoise" in saved and "encoder: toy:mlp" in saved
    from selfsup import evaluate

    again = evaluate(tmp_path / "plain", write=False)  # the saved config resolves to the same components
    assert again["linear-probe"]["pretrained"]["accuracy"] == pytest.approx(result.metrics["linear-probe/accuracy"])
    with pytest.raises(PluginConflictError, match="Conflicting objectives named 'denoise'"):
        pretrain(modality="toy", objective="denoise", run_dir=tmp_path / "explicit", **TINY)


class _WideEncoder(nn.Module):
    """Declares embed_dim=4 but returns 6 features per row."""

    embed_dim = 4

    def __init__(self, config: object, data_info: object) -> None:
        super().__init__()
        self.linear = nn.Linear(8, 6)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.linear(batch["x"])


def test_wrong_embed_dim_is_a_named_error_before_training(monkeypatch, tmp_path, capsys):
    def encoders():
        return [EncoderSpec(name="wide", modality="toy", factory=_WideEncoder)]

    _install(monkeypatch, _module(register_encoders=encoders))
    with pytest.raises(EncoderOutputError, match=r"Encoder 'wide' \(acme-ssl 1.2.0\) declares embed_dim=4 but returned 6 features per row"):
        pretrain(modality="toy", encoder="wide", run_dir=tmp_path / "wide", **TINY)
    assert not (tmp_path / "wide" / "log.jsonl").exists()  # no training step ran
    assert not list((tmp_path / "wide").glob("checkpoints/*"))  # the folder may exist (writability check), empty
    assert main(["pretrain", "modality=toy", "encoder=wide", f"run_dir={tmp_path / 'cli'}", "trainer.max_steps=2"]) == 2
    assert "selfsup: error: Encoder 'wide'" in capsys.readouterr().err
    _unrelated_commands_work(tmp_path, capsys)


def test_a_typo_in_the_plugin_variables_is_warned_with_the_closest_name(monkeypatch):
    monkeypatch.setenv("SELFSUP_DISABLE_PLUGINS", "acne")
    monkeypatch.setattr("selfsup.plugins._entry_points", lambda: [_EntryPoint("acme", _module())])
    plugins = PluginSet(strict=False)
    plugins.load_builtins()
    with pytest.warns(RuntimeWarning, match="SELFSUP_DISABLE_PLUGINS names 'acne', which is no installed plugin. Did you mean 'acme'"):
        plugins.load_entry_points()
    assert plugins.statuses["acme"].status == "ok"
    monkeypatch.delenv("SELFSUP_DISABLE_PLUGINS")
    monkeypatch.setenv("SELFSUP_LOAD_PLUGINS", "acme-sl")
    with pytest.warns(RuntimeWarning, match="SELFSUP_LOAD_PLUGINS names 'acme-sl'.*Did you mean 'acme-ssl'"):
        PluginSet(strict=False).load_entry_points()
    monkeypatch.setenv("SELFSUP_LOAD_PLUGINS", "acme-ssl")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a correct name is not warned about
        PluginSet(strict=False).load_entry_points()
