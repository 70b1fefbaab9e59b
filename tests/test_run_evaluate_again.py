"""evaluate() with a different evaluator list than the run was pretrained with."""

from __future__ import annotations

from selfsup import evaluate, pretrain


def test_evaluate_with_a_new_evaluator_list_drops_the_old_settings(toy, tmp_path):
    run = pretrain(
        modality="toy",
        run_dir=tmp_path / "run",
        evaluators=["linear-probe", "knn"],
        evaluator_config={"knn": {"k": 5}},
        trainer={"max_steps": 3},
    )
    # A subset keeps the saved settings of the evaluators still chosen...
    results = evaluate(run.run_dir, ["knn"], write=False)
    assert set(results) == {"knn"} and results["knn"]["settings"]["k"] == 5
    # ...and a disjoint list (also with a plugin:name selector) resolves too.
    results = evaluate(run.run_dir, ["selfsup-builtin:embedding-stats"], write=False)
    assert set(results) == {"embedding-stats"}
