"""The first-hour traps of the command line: component-vs-settings hints, ``--version``,
``selfsup info`` descriptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pytest

from selfsup.cli import main
from selfsup.describe import config_fields, field_docs


@pytest.mark.parametrize(
    "override, fix",
    [
        ("objective.noise=0.5", "Use objective_config.noise=0.5."),
        ("encoder.hidden=8", "Use encoder_config.hidden=8."),
        ("dataset.rows=10", "Use data.rows=10."),
        ("evaluator.knn.k=5", "Use evaluator_config.knn.k=5."),
        ("evaluators.k=5", "evaluator_config.knn.k=5"),
        ("modality.x=1", "Give the name alone"),
    ],
)
def test_settings_given_on_a_component_name_point_to_their_section(toy, capsys, override, fix):
    assert main(["pretrain", "modality=toy", override]) == 2
    err = capsys.readouterr().err
    assert err.startswith("selfsup: error:") and fix in err, err
    assert "No plugin" not in err and "{" not in err  # the garbled registry message is gone
    assert err.count("\n") == 1


def test_the_hint_also_guards_the_python_api(toy, tmp_path):
    from selfsup import pretrain
    from selfsup.errors import ConfigError

    with pytest.raises(ConfigError, match=r"objective_config\.noise=0\.5"):
        pretrain(modality="toy", run_dir=tmp_path / "r", **{"objective.noise": 0.5})


def test_version_lists_the_core_and_every_plugin(toy, capsys):
    import selfsup

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"selfsup {selfsup.__version__}"
    assert any("plugin 'toy'" in line for line in lines[1:])
    assert any("plugin 'selfsup-builtin'" in line and selfsup.__version__ in line for line in lines[1:])


@dataclass
class _Base:
    #: Folder of the data.
    root: Optional[str] = None


@dataclass
class _Documented(_Base):
    """Docstring lines are not field docs."""

    #: Share of the features hidden,
    #: as a fraction.
    mask_ratio: float = 0.5

    plain: int = 3
    ratios: list[float] = field(default_factory=lambda: [0.1, 0.2])  #: Inline doc.

    def method(self) -> int:
        #: not a field doc
        local: int = 1
        return local


def test_field_docs_read_the_comments_above_each_field_and_inherit():
    docs = field_docs(_Documented)
    assert docs == {
        "root": "Folder of the data.",
        "mask_ratio": "Share of the features hidden, as a fraction.",
        "ratios": "Inline doc.",
    }
    fields = {f.name: f for f in config_fields(_Documented)}
    assert fields["ratios"].default == [0.1, 0.2] and fields["ratios"].type == "list[float]"
    assert fields["plain"].doc == ""


def test_info_shows_type_default_and_description_of_each_key(toy, capsys):
    assert main(["info", "knn"]) == 0
    out = capsys.readouterr().out
    assert "config (set as evaluator_config.knn.<key>=<value>):" in out
    lines = out.splitlines()
    k = lines.index("    k: 20  (int)")
    assert lines[k + 1].strip() == "Number of neighbours (capped at the memory-bank size, with a warning)."


def test_every_first_party_config_key_has_a_description():
    """What ``selfsup info`` shows for the installed first-party plugins: no key undocumented
    in the vision plugin's components (the ones a newcomer meets with MNIST/CIFAR)."""
    pytest.importorskip("selfsup_vision")
    from selfsup_vision import configs

    missing = [
        f"{name}.{item.name}"
        for name in configs.__all__
        for item in config_fields(getattr(configs, name))
        if not item.doc
    ]
    assert missing == []
