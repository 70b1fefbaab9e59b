"""``selfsup embed`` / ``export`` on point-cloud runs: per-point embeddings of new clouds and
uncoloured meshes, featurised as in training; the voxel U-Net exports to safetensors only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import selfsup
from selfsup.errors import ExportError
from selfsup.export import export, load_safetensors_export

DATA = Path(os.environ.get("SELFSUP_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return selfsup.pretrain(
        modality="pointcloud", run_dir=tmp_path_factory.mktemp("pc") / "run", evaluators=[], seed=0,
        data={"train_scenes": 2, "val_scenes": 1, "test_scenes": 1, "points_per_m2": 60, "grid_size": 0.15},
        encoder_config={"grid_size": 0.2, "channels": [8, 16, 16], "decoder_channels": [8, 8, 16]},
        trainer={"max_steps": 2, "progress": "off", "log_every": 1, "batch_size": 2},
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    import open3d as o3d

    folder = tmp_path_factory.mktemp("clouds")
    rng = np.random.default_rng(0)
    room = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(rng.uniform(0, 2.5, (400, 3))))
    room.colors = o3d.utility.Vector3dVector(rng.uniform(0, 1, (400, 3)))
    o3d.io.write_point_cloud(str(folder / "a_room.ply"), room)
    plain = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(rng.uniform(0, 1.5, (250, 3))))
    o3d.io.write_point_cloud(str(folder / "b_plain.pcd"), plain)  # no colours, no normals
    o3d.io.write_triangle_mesh(str(folder / "c_box.obj"), o3d.geometry.TriangleMesh.create_box(1.0, 0.6, 0.8))
    return folder


def test_state_holds_the_featurisation(run):
    state = json.loads((run.run_dir / "preprocessing.json").read_text())["state"]
    assert state == {"grid_size": 0.15, "normals": True, "reader": "points"}


def test_one_row_per_point_in_file_order(run, files, tmp_path):
    out = selfsup.embed(run.run_dir, files, out=tmp_path / "e.parquet", batch_size=2)
    counts = {name: out.ids.count(name) for name in dict.fromkeys(out.ids)}
    assert out.layout == "unit" and counts == {"a_room.ply": 400, "b_plain.pcd": 250, "c_box.obj": 20000}
    assert out.index[:3] == [0, 1, 2] and out.index[400] == 0 and out.index[649] == 249
    import pandas as pd

    frame = pd.read_parquet(tmp_path / "e.parquet")
    assert list(frame.columns) == ["id", "index", "embedding"] and len(frame) == 20650


def test_a_cloud_embeds_the_same_alone_or_beside_others(run, files):
    together = selfsup.embed(run.run_dir, files, batch_size=3)
    alone = selfsup.embed(run.run_dir, files / "b_plain.pcd")
    rows = np.array([i == "b_plain.pcd" for i in together.ids])
    np.testing.assert_allclose(together.vectors[rows], alone.vectors, atol=1e-5)
    assert np.abs(together.vectors[rows][:50] - together.vectors[~rows][:50]).max() > 1e-4


def test_uncoloured_clouds_and_meshes_get_the_training_features(run, files):
    from selfsup.embed import open_run

    _, _, transform = open_run(run.run_dir)
    batch, units = transform.batch([files / "b_plain.pcd", files / "c_box.obj"])
    assert units == [250, 20000] and batch["feat"].shape == (20250, 6)
    assert torch.equal(batch["feat"][:, :3], torch.full((20250, 3), -1.0))  # zero colour, normalised as in training
    torch.testing.assert_close(batch["feat"][:, 3:].norm(dim=1), torch.ones(20250), atol=1e-4, rtol=0)  # normals
    assert torch.equal(batch["batch"].bincount(), torch.tensor([250, 20000]))


@pytest.mark.skipif(not (DATA / "stanford-bunny").is_dir(), reason="Stanford bunny not found (set SELFSUP_DATA)")
def test_the_stanford_bunny_mesh_embeds_per_sampled_point(run):
    mesh = next((DATA / "stanford-bunny").glob("*.obj"))
    out = selfsup.embed(run.run_dir, mesh)
    assert out.vectors.shape == (20000, run.encoder.embed_dim) and np.isfinite(out.vectors).all()
    assert out.vectors.std(0).min() > 0  # the points get different features


def test_traced_formats_are_refused_with_the_reason(run, files, tmp_path):
    for fmt in ("onnx", "torchscript"):
        with pytest.raises(ExportError, match=r"bitwise OR.*torch.unique.*Use format=safetensors"):
            export(run.run_dir, fmt, inputs=files)
    target = export(run.run_dir, "safetensors", out=tmp_path / "st", inputs=files)
    from selfsup.embed import open_run

    _, encoder, transform = open_run(run.run_dir)
    batch, _ = transform.batch([files / "a_room.ply"])
    with torch.no_grad():
        torch.testing.assert_close(load_safetensors_export(target)(batch), encoder(batch), atol=0, rtol=0)
