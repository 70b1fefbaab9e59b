"""Installing the distribution is all it takes: selfsup finds the plugin and its components."""

from __future__ import annotations

import pytest

import selfsup
from selfsup.cli import main
from selfsup.errors import UnknownComponentError
from selfsup.registry import get_registry
from selfsup.testing import isolate

DISTRIBUTION = "selfsup-example-plugin"


def test_example_plugin_is_installed_and_ok():
    statuses = {status.distribution: status for status in selfsup.list_plugins()}
    assert DISTRIBUTION in statuses, f"not installed? run: pip install -e . ({sorted(statuses)})"
    status = statuses[DISTRIBUTION]
    assert status.name == "example"
    assert status.status == "ok", status.error
    assert status.version == "0.1.0"
    assert status.hooks == ["register_commands", "register_datasets", "register_encoders", "register_modalities", "register_objectives"]


def test_example_components_are_registered_with_provenance():
    registry = get_registry()
    found = {
        ("modality", "example-series"): registry.get("modality", "example-series"),
        ("dataset", "synthetic-sines"): registry.get("dataset", "synthetic-sines", modality="example-series"),
        ("encoder", "conv1d"): registry.get("encoder", "conv1d", modality="example-series"),
        ("objective", "ts-simclr"): registry.get("objective", "ts-simclr", modality="example-series"),
    }
    for key, spec in found.items():
        assert (spec.plugin, spec.distribution, spec.version) == ("example", DISTRIBUTION, "0.1.0"), key
        assert spec.description, key
    # ``plugin:name`` selects the provider explicitly (entry-point or distribution name).
    assert get_registry().get("encoder", "example:conv1d", modality="example-series") is found[("encoder", "conv1d")]
    assert get_registry().get("encoder", f"{DISTRIBUTION}:conv1d", modality="example-series") is found[("encoder", "conv1d")]
    # The core's evaluators accept the new modality.
    assert "linear-probe" in {spec.name for spec in registry.list("evaluator", "example-series")}


def test_example_plugin_can_be_disabled(monkeypatch):
    monkeypatch.setenv("SELFSUP_DISABLE_PLUGINS", "example")
    with isolate(monkeypatch, entry_points=True):
        statuses = {status.name: status.status for status in selfsup.list_plugins()}
        assert statuses["example"] == "blocked"
        with pytest.raises(UnknownComponentError, match="Unknown modality 'example-series'"):
            get_registry().get("modality", "example-series")


def test_example_cli_lists_the_plugin_and_its_components(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "example" in out and DISTRIBUTION in out and "ok" in out
    assert main(["list", "objectives", "--modality", "example-series"]) == 0
    assert "ts-simclr [example-series]  (selfsup-example-plugin 0.1.0)" in capsys.readouterr().out
    assert main(["info", "conv1d"]) == 0
    out = capsys.readouterr().out
    assert "encoder conv1d (modality example-series)" in out and "embed_dim: 64" in out
