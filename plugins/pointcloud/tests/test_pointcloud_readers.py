"""Readers on small files written in the real formats: PLY/PCD/XYZ clouds, OBJ/OFF/PLY meshes, the
ScanNet (raw, npy, pth), S3DIS and ModelNet layouts, bad inputs, and the Stanford bunny."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import open3d as o3d
import pytest
import torch

from selfsup.errors import DatasetError
from selfsup_pointcloud.configs import ModelNetConfig, PointFilesConfig, S3DISConfig, ScanNetConfig
from selfsup_pointcloud.datasets.base import Scene, check_scene
from selfsup_pointcloud.datasets.files import PointFiles
from selfsup_pointcloud.datasets.modelnet import ModelNet, read_off_mesh
from selfsup_pointcloud.datasets.s3dis import S3DIS
from selfsup_pointcloud.datasets.scannet import ScanNet, nyu40_to_scannet20
from selfsup_pointcloud.io import read_mesh_points, read_ply_vertices, read_point_cloud, read_points_file

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("SELFSUP_DATA", REPO.parent / "shared" / "data"))
BUNNY = DATA / "stanford-bunny" / "stanford-bunny.obj"


def _cloud(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 3)) * 2.0, rng.integers(0, 256, (n, 3))


def _box_mesh() -> o3d.geometry.TriangleMesh:
    return o3d.geometry.TriangleMesh.create_box(1.0, 2.0, 0.5)


def write_scannet_ply(path: Path, coord: np.ndarray, color: np.ndarray, label: np.ndarray | None, faces: np.ndarray) -> None:
    """A binary little-endian PLY laid out as ScanNet's _vh_clean_2(.labels).ply."""
    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1"), ("alpha", "u1")]
    if label is not None:
        fields.append(("label", "<u2"))
    vertex = np.zeros(coord.shape[0], dtype=fields)
    vertex["x"], vertex["y"], vertex["z"] = coord.T
    vertex["red"], vertex["green"], vertex["blue"], vertex["alpha"] = *color.T, 255
    if label is not None:
        vertex["label"] = label
    kinds = {"<f4": "float", "u1": "uchar", "<u2": "ushort"}
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {coord.shape[0]}"]
    header += [f"property {kinds[kind]} {name}" for name, kind in fields]
    header += [f"element face {faces.shape[0]}", "property list uchar int vertex_indices", "end_header"]
    face = np.zeros(faces.shape[0], dtype=[("n", "u1"), ("v", "<i4", (3,))])
    face["n"], face["v"] = 3, faces
    with path.open("wb") as handle:
        handle.write(("\n".join(header) + "\n").encode())
        handle.write(vertex.tobytes())
        handle.write(face.tobytes())


def test_point_cloud_formats_round_trip(tmp_path: Path) -> None:
    coord, color = _cloud()
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(coord))
    cloud.colors = o3d.utility.Vector3dVector(color / 255.0)
    for suffix in (".ply", ".pcd"):
        o3d.io.write_point_cloud(str(tmp_path / f"c{suffix}"), cloud)
        scene = read_point_cloud(tmp_path / f"c{suffix}")
        np.testing.assert_allclose(scene.coord, coord, atol=1e-5)
        np.testing.assert_allclose(scene.color, color, atol=0.5)
    np.savetxt(tmp_path / "c.xyz", coord)
    scene = read_points_file(tmp_path / "c.xyz")
    np.testing.assert_allclose(scene.coord, coord, atol=1e-5)
    assert scene.color is None


def test_meshes_are_sampled_on_their_surface(tmp_path: Path) -> None:
    for suffix in (".obj", ".off", ".ply"):
        path = tmp_path / f"box{suffix}"
        o3d.io.write_triangle_mesh(str(path), _box_mesh())
        scene = read_points_file(path, mesh_points=500, seed=0)
        assert scene.coord.shape == (500, 3) and scene.normal is not None
        # every sample lies on a face of the 1 x 2 x 0.5 box
        on_face = (np.abs(scene.coord - [0, 0, 0]) < 1e-5) | (np.abs(scene.coord - [1.0, 2.0, 0.5]) < 1e-5)
        assert on_face.any(axis=1).all()
    again = read_points_file(tmp_path / "box.obj", mesh_points=500, seed=0)
    np.testing.assert_array_equal(again.coord, read_points_file(tmp_path / "box.obj", mesh_points=500, seed=0).coord)


def test_bad_inputs_raise_named_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.xyz").write_text("")
    with pytest.raises(DatasetError, match="empty"):
        read_point_cloud(tmp_path / "empty.xyz")
    np.savetxt(tmp_path / "nan.xyz", np.array([[0.0, 0.0, 0.0], [np.nan, 1.0, 2.0]]))
    with pytest.raises(DatasetError, match="NaN"):
        read_point_cloud(tmp_path / "nan.xyz")
    (tmp_path / "nofaces.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    (tmp_path / "nofaces.off").write_text("OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n")
    for name in ("nofaces.obj", "nofaces.off"):
        with pytest.raises(DatasetError, match="no faces"):
            read_mesh_points(tmp_path / name, 10)
    with pytest.raises(DatasetError, match="label file has 3 entries"):
        check_scene(Scene("s", coord=np.zeros((4, 3), np.float32), label=np.zeros(3, np.int64)))
    with pytest.raises(DatasetError, match="does not exist"):
        read_point_cloud(tmp_path / "missing.ply")


def test_point_files_counts_skips_and_reads_the_rest(tmp_path: Path) -> None:
    coord, color = _cloud()
    np.savetxt(tmp_path / "good.xyz", coord)
    o3d.io.write_triangle_mesh(str(tmp_path / "box.obj"), _box_mesh())
    (tmp_path / "bad.xyz").write_text("")
    with pytest.warns(RuntimeWarning, match="bad.xyz"):
        data = PointFiles(PointFilesConfig(root=str(tmp_path), grid_size=0.05, mesh_points=800))
    assert len(data.split("train")) == 2 and data.info["skipped"] == 1
    item = data.split("train")[0]
    assert item["feat"].shape[1] == 6 and "label" not in item


def test_scannet_raw_layout_maps_nyu40_and_skips_mismatched_labels(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    rng = np.random.default_rng(0)
    nyu = np.array([1, 2, 5, 39, 13, 0, 40] * 20)  # 13 (shelves), 0 and 40 are not benchmark classes
    for name, count, label_count in (("scene0000_00", 140, 140), ("scene0001_00", 140, 140), ("scene0002_00", 140, 120)):
        folder = scans / name
        folder.mkdir(parents=True)
        coord, color = rng.random((count, 3)) * 3, rng.integers(0, 256, (count, 3))
        faces = np.array([[0, 1, 2], [2, 3, 4]])
        write_scannet_ply(folder / f"{name}_vh_clean_2.ply", coord, color, None, faces)
        write_scannet_ply(folder / f"{name}_vh_clean_2.labels.ply", coord[:label_count], color[:label_count], nyu[:label_count], faces)
    (tmp_path / "scannetv2_train.txt").write_text("scene0000_00\nscene0002_00\n")
    (tmp_path / "scannetv2_val.txt").write_text("scene0001_00\n")
    vertices = read_ply_vertices(scans / "scene0000_00" / "scene0000_00_vh_clean_2.labels.ply")
    assert vertices["label"].dtype == np.uint16 and vertices["label"][:7].tolist() == [1, 2, 5, 39, 13, 0, 40]
    with pytest.warns(RuntimeWarning, match="scene0002_00"):
        data = ScanNet(ScanNetConfig(root=str(tmp_path), grid_size=0.01, normals=False))
    assert data.info["skipped"] == 1 and data.info["num_scenes"] == {"train": 1, "test": 1}
    assert data.info["num_classes"] == 20
    labels = data.split("train")[0]["label"]
    assert set(labels.tolist()) <= {0, 1, 4, 19, -1} and (labels == -1).any()
    assert nyu40_to_scannet20(np.array([1, 2, 5, 39, 13, 0, 40, 36])).tolist() == [0, 1, 4, 19, -1, -1, -1, 18]


def test_scannet_preprocessed_npy_and_pth_layouts(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    coord, color = rng.random((100, 3)).astype(np.float32), rng.integers(0, 256, (100, 3)).astype(np.uint8)
    segment = rng.integers(-1, 20, 100)
    folder = tmp_path / "npy" / "train" / "scene0000_00"
    folder.mkdir(parents=True)
    np.save(folder / "coord.npy", coord)
    np.save(folder / "color.npy", color)
    np.save(folder / "segment20.npy", segment)
    data = ScanNet(ScanNetConfig(root=str(tmp_path / "npy"), grid_size=0.001, normals=False))
    item = data.split("train")[0]
    assert item["coord"].shape[0] == 100 and set(item["label"].tolist()) == set(segment.tolist())
    (tmp_path / "pth" / "train").mkdir(parents=True)
    (tmp_path / "pth" / "val").mkdir(parents=True)
    torch.save({"coord": coord, "color": color, "semantic_gt20": segment}, tmp_path / "pth" / "train" / "scene0000_00.pth")
    labels_pg = np.where(segment < 0, -100, segment)
    torch.save((coord, color / 127.5 - 1.0, labels_pg), tmp_path / "pth" / "val" / "scene0001_00.pth")
    data = ScanNet(ScanNetConfig(root=str(tmp_path / "pth"), grid_size=0.001, normals=False))
    assert data.info["num_scenes"] == {"train": 1, "test": 1}
    test_item = data.split("test")[0]
    assert (test_item["label"] >= -1).all() and (test_item["label"] == -1).sum() == (segment < 0).sum()
    # PointGroup's [-1, 1] colours come back as the original 0..255 colours
    mine, theirs = np.lexsort(test_item["coord"].numpy().T), np.lexsort(coord.T)
    np.testing.assert_allclose((test_item["feat"][mine, :3].numpy() + 1) * 127.5, color[theirs], atol=1e-3)


def test_s3dis_layout_labels_from_annotations(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    for area, room in (("Area_1", "office_1"), ("Area_5", "hallway_6")):
        annotations = tmp_path / area / room / "Annotations"
        annotations.mkdir(parents=True)
        rows = []
        for kind, offset in (("chair_1", 0.0), ("wall_1", 2.0), ("stairs_1", 4.0)):
            block = np.hstack([rng.random((30, 3)) + offset, rng.integers(0, 256, (30, 3))])
            np.savetxt(annotations / f"{kind}.txt", block, fmt="%.6f %.6f %.6f %d %d %d")
            rows.append(block)
        np.savetxt(tmp_path / area / room / f"{room}.txt", np.vstack(rows), fmt="%.6f %.6f %.6f %d %d %d")
    # a stray byte inside a number line, as in the released Area_5/hallway_6
    broken = tmp_path / "Area_5" / "hallway_6" / "Annotations" / "chair_1.txt"
    broken.write_bytes(broken.read_bytes().replace(b" ", b"\x10 ", 1))
    data = S3DIS(S3DISConfig(root=str(tmp_path), test_area=5, grid_size=0.001, normals=False))
    assert data.info["num_scenes"] == {"train": 1, "test": 1} and data.info["num_classes"] == 13
    labels = data.split("test")[0]["label"]
    assert torch.bincount(labels, minlength=13)[[8, 2, 12]].tolist() == [30, 30, 30]  # chair, wall, stairs -> clutter


def test_modelnet_layout_with_the_header_on_one_line(tmp_path: Path) -> None:
    box = _box_mesh()
    vertices, triangles = np.asarray(box.vertices), np.asarray(box.triangles)
    body = "\n".join(" ".join(f"{v:.4f}" for v in row) for row in vertices) + "\n"
    body += "\n".join("3 " + " ".join(str(i) for i in tri) for tri in triangles) + "\n"
    for name in ("chair", "table"):
        for split in ("train", "test"):
            (tmp_path / name / split).mkdir(parents=True)
            (tmp_path / name / split / f"{name}_0001.off").write_text(f"OFF\n{len(vertices)} {len(triangles)} 0\n" + body)
    (tmp_path / "table" / "train" / "table_0002.off").write_text(f"OFF{len(vertices)} {len(triangles)} 0\n" + body)
    read_vertices, read_faces = read_off_mesh(tmp_path / "table" / "train" / "table_0002.off")
    assert read_vertices.shape == (8, 3) and read_faces.shape == (12, 3)
    data = ModelNet(ModelNetConfig(root=str(tmp_path), num_points=64, oversample=4, grid_size=0.01))
    assert data.info["class_names"] == ["chair", "table"] and data.info["num_scenes"] == {"train": 3, "test": 2}
    item = data.split("train")[2]
    assert int(item["label"]) == 1 and item["coord"].shape[0] <= 64
    assert float(item["coord"].norm(dim=1).max()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.skipif(not BUNNY.is_file(), reason="Stanford bunny not found (set SELFSUP_DATA)")
def test_stanford_bunny_real_scan_through_the_encoder() -> None:
    from selfsup_pointcloud.configs import PointUNetConfig
    from selfsup_pointcloud.encoders.unet import build_point_unet

    data = PointFiles(PointFilesConfig(root=str(BUNNY.parent), grid_size=0.004, mesh_points=20000))
    item = data.split("train")[0]
    extent = item["coord"].max(0).values - item["coord"].min(0).values
    assert 0.1 < float(extent.max()) < 0.3 and item["coord"].shape[0] > 1000  # the bunny is ~0.15 m across
    encoder = build_point_unet(PointUNetConfig(grid_size=0.004, channels=[8, 16, 16], decoder_channels=[8, 8, 16]), data.info)
    batch = data.collate([item])
    with torch.no_grad():
        out, levels = encoder(batch), encoder.point_levels(batch)
    assert out.shape == (item["coord"].shape[0], 8) and torch.isfinite(out).all()
    assert [x.shape[1] for x in levels] == [8, 8, 16]


def _write_off(path: Path, mesh: o3d.geometry.TriangleMesh) -> None:
    vertices, triangles = np.asarray(mesh.vertices), np.asarray(mesh.triangles)
    lines = ["OFF", f"{len(vertices)} {len(triangles)} 0"]
    lines += [" ".join(f"{v:.5f}" for v in row) for row in vertices]
    lines += ["3 " + " ".join(str(i) for i in tri) for tri in triangles]
    path.write_text("\n".join(lines) + "\n")


def test_shape_linear_probe_separates_boxes_from_spheres(tmp_path: Path) -> None:
    from selfsup_pointcloud.configs import PointUNetConfig, ShapeLinearProbeConfig
    from selfsup_pointcloud.encoders.unet import build_point_unet
    from selfsup_pointcloud.evaluation.shapes import ShapeLinearProbe

    rng = np.random.default_rng(3)
    for split, count in (("train", 8), ("test", 4)):
        for name in ("box", "sphere"):
            (tmp_path / name / split).mkdir(parents=True)
            for i in range(count):
                if name == "box":
                    mesh = o3d.geometry.TriangleMesh.create_box(*rng.uniform(0.5, 1.5, 3))
                else:
                    mesh = o3d.geometry.TriangleMesh.create_sphere(radius=float(rng.uniform(0.5, 1.5)), resolution=8)
                _write_off(tmp_path / name / split / f"{name}_{i:04d}.off", mesh)
    data = ModelNet(ModelNetConfig(root=str(tmp_path), num_points=256, oversample=2, grid_size=0.05))
    torch.manual_seed(0)
    encoder = build_point_unet(PointUNetConfig(grid_size=0.1, channels=[8, 16], decoder_channels=[8, 16]), data.info)
    scores = ShapeLinearProbe(ShapeLinearProbeConfig(l2_grid=[1e-2], max_iter=100)).evaluate(
        encoder, data, device=torch.device("cpu"), seed=0
    )
    assert scores["accuracy"] >= 0.875 and 0.0 <= scores["mean_accuracy"] <= 1.0
