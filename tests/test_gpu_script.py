"""benchmarks/gpu/run.sh --dry-run: the prepared GPU run goes through every stage on the CPU,
so it is ready when a GPU is lent (its GPU output is committed under benchmarks/gpu/)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_run_dry_run_passes_every_stage(tmp_path):
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu" / "run.sh"), "--dry-run", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "gpu_run.json").read_text())
    assert list(results) == ["environment", "cuda_tests", "matmul", "scan_efficiency", "ssast_base_step", "engine"]
    assert all(record["status"] == "ok" for record in results.values()), {k: v.get("error") for k, v in results.items()}
    assert results["cuda_tests"]["result"]["counts"].get("tests", 0) >= 9  # the CUDA subset is collected
    assert results["ssast_base_step"]["result"]["flops_per_step"] > 0
    assert {row["model"] for row in results["scan_efficiency"]["result"]["rows"]} == {"ssamba", "ssast"}
    assert "| t-jepa |" in (tmp_path / "gpu_run.md").read_text()
