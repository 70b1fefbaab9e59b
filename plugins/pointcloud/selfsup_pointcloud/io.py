"""Readers for point-cloud and mesh files, through open3d (and numpy for PLY properties open3d skips).

* :func:`read_point_cloud`: ``.ply .pcd .xyz .xyzn .xyzrgb .pts`` point clouds.
* :func:`read_mesh_points`: ``.obj .off .stl .ply`` triangle meshes, sampled uniformly on their surface.
* :func:`read_points_file`: either, by extension (a ``.ply`` with faces is a mesh).
* :func:`read_ply_vertices`: every vertex property of a PLY file as numpy arrays (ScanNet's
  ``.labels.ply`` stores ``ushort label``, which open3d's reader skips).

Every reader returns a checked :class:`~selfsup_pointcloud.datasets.base.Scene` or raises
:class:`selfsup.errors.DatasetError` naming the file and a fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from selfsup.errors import DatasetError

from .datasets.base import Scene, check_scene

__all__ = [
    "POINT_CLOUD_SUFFIXES",
    "MESH_SUFFIXES",
    "read_point_cloud",
    "read_mesh_points",
    "read_points_file",
    "read_ply_vertices",
    "read_off_mesh",
]

POINT_CLOUD_SUFFIXES = (".ply", ".pcd", ".xyz", ".xyzn", ".xyzrgb", ".pts")
MESH_SUFFIXES = (".obj", ".off", ".stl", ".ply")

_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
    "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}


def _require(path: Path) -> None:
    if not path.is_file():
        raise DatasetError(f"{path} does not exist. Check the path (nothing is downloaded).")


def read_point_cloud(path: str | Path) -> Scene:
    """Points, colours (0..255) and normals of a point-cloud file, read by open3d."""
    import open3d as o3d

    path = Path(path)
    _require(path)
    if path.suffix.lower() not in POINT_CLOUD_SUFFIXES:
        raise DatasetError(f"{path}: unsupported point-cloud format. Use one of {', '.join(POINT_CLOUD_SUFFIXES)}.")
    cloud = o3d.io.read_point_cloud(str(path), remove_nan_points=False, remove_infinite_points=False)
    coord = np.asarray(cloud.points, dtype=np.float64).astype(np.float32)
    color = np.asarray(cloud.colors, dtype=np.float32) * 255.0 if cloud.has_colors() else None
    normal = np.asarray(cloud.normals, dtype=np.float32) if cloud.has_normals() else None
    if coord.shape[0] == 0:
        raise DatasetError(f"{path}: the point cloud is empty (open3d read 0 points). Check the file's format and content.")
    return check_scene(Scene(name=str(path), coord=coord.reshape(-1, 3), color=color, normal=normal))


def read_mesh_points(path: str | Path, num_points: int, *, seed: int = 0) -> Scene:
    """``num_points`` points sampled uniformly (area-weighted) on a triangle mesh, with the triangles' normals."""
    import open3d as o3d

    path = Path(path)
    _require(path)
    if num_points < 1:
        raise DatasetError(f"{path}: cannot sample {num_points} points. Ask for at least 1.")
    if path.suffix.lower() == ".off":
        vertices, faces = read_off_mesh(path)
        mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(vertices), o3d.utility.Vector3iVector(faces.astype(np.int32)))
    else:
        mesh = o3d.io.read_triangle_mesh(str(path))
    if len(mesh.vertices) == 0 and path.suffix.lower() == ".obj" and _obj_has_vertices_only(path):
        raise DatasetError(
            f"{path}: the OBJ file has vertices but no faces, so no surface to sample. "
            "Read it as a point cloud instead (save it as .ply/.xyz), or export the faces."
        )
    if len(mesh.vertices) == 0:
        raise DatasetError(f"{path}: the mesh has no vertices. Check the file's format and content.")
    if len(mesh.triangles) == 0:
        raise DatasetError(
            f"{path}: the mesh has {len(mesh.vertices)} vertices but no faces, so no surface to sample. "
            "Read it as a point cloud instead (save it as .ply/.xyz without faces), or export the faces."
        )
    vertices = np.asarray(mesh.vertices)
    if not np.isfinite(vertices).all():
        raise DatasetError(f"{path}: the mesh has NaN or infinite vertex coordinates. Repair or re-export the mesh.")
    mesh.compute_triangle_normals()
    o3d.utility.random.seed(int(seed))
    cloud = mesh.sample_points_uniformly(number_of_points=int(num_points), use_triangle_normal=True)
    coord = np.asarray(cloud.points, dtype=np.float32)
    color = np.asarray(cloud.colors, dtype=np.float32) * 255.0 if cloud.has_colors() else None
    normal = np.asarray(cloud.normals, dtype=np.float32) if cloud.has_normals() else None
    return check_scene(Scene(name=str(path), coord=coord, color=color, normal=normal))


def read_off_mesh(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices ``[V, 3]`` and triangles ``[F, 3]`` of an OFF file (polygons fan-triangulated).

    Also reads the ModelNet files whose counts share the header line (``OFF490 518 0``),
    which open3d rejects.
    """
    path = Path(path)
    _require(path)
    tokens = path.read_text(errors="replace").split()
    if not tokens or not tokens[0].upper().startswith("OFF"):
        raise DatasetError(f"{path}: not an OFF file (no OFF header). Check the file.")
    head = tokens[0][3:]
    rest = ([head] if head else []) + tokens[1:]
    try:
        num_vertices, num_faces = int(rest[0]), int(rest[1])
        numbers = rest[3:]
        vertices = np.array(numbers[: 3 * num_vertices], dtype=np.float64).reshape(num_vertices, 3)
        cursor, faces = 3 * num_vertices, []
        for _ in range(num_faces):
            count = int(numbers[cursor])
            ids = [int(v) for v in numbers[cursor + 1 : cursor + 1 + count]]
            faces.extend([ids[0], ids[i], ids[i + 1]] for i in range(1, count - 1))
            cursor += 1 + count
    except (ValueError, IndexError) as exc:
        raise DatasetError(f"{path}: the OFF body does not match its header ({exc}). The file is truncated or corrupt.") from exc
    return vertices, np.array(faces, dtype=np.int64).reshape(-1, 3)


def _obj_has_vertices_only(path: Path) -> bool:
    """Whether an OBJ file has ``v`` lines but no ``f`` lines (open3d then reads nothing at all)."""
    kinds = {line.split(maxsplit=1)[0] for line in path.read_text(errors="replace").splitlines() if line.strip()}
    return "v" in kinds and "f" not in kinds


def _ply_header(path: Path) -> tuple[str, list[tuple[str, int, list[tuple[str, str]]]], int]:
    with path.open("rb") as handle:
        if handle.readline().strip() != b"ply":
            raise DatasetError(f"{path}: not a PLY file (no 'ply' magic line). Check the file.")
        fmt = ""
        elements: list[tuple[str, int, list[tuple[str, str]]]] = []
        while True:
            line = handle.readline()
            if not line:
                raise DatasetError(f"{path}: the PLY header has no 'end_header'. The file is truncated or corrupt.")
            words = line.decode("ascii", "replace").split()
            if not words:
                continue
            if words[0] == "format":
                fmt = words[1]
            elif words[0] == "element":
                elements.append((words[1], int(words[2]), []))
            elif words[0] == "property" and elements:
                if words[1] == "list":
                    elements[-1][2].append((words[4], "list:" + words[2] + ":" + words[3]))
                else:
                    if words[1] not in _PLY_TYPES:
                        raise DatasetError(f"{path}: unknown PLY property type {words[1]!r}. Re-export the file.")
                    elements[-1][2].append((words[2], words[1]))
            elif words[0] == "end_header":
                return fmt, elements, handle.tell()


def read_ply_vertices(path: str | Path) -> dict[str, np.ndarray]:
    """Every scalar vertex property of a PLY file (ascii or binary), as ``{name: array [num_vertices]}``.

    The vertex element must come first (as in every ScanNet file); later elements (faces) are not read.
    """
    path = Path(path)
    _require(path)
    fmt, elements, offset = _ply_header(path)
    if not elements or elements[0][0] != "vertex":
        raise DatasetError(f"{path}: the first PLY element is not 'vertex'. Re-export the file with vertices first.")
    _, count, properties = elements[0]
    if any(kind.startswith("list:") for _, kind in properties):
        raise DatasetError(f"{path}: list-valued vertex properties are not supported. Re-export without them.")
    if fmt == "ascii":
        with path.open("rb") as handle:
            handle.seek(offset)
            table = np.loadtxt(handle, max_rows=count, ndmin=2, dtype=np.float64)
        if table.shape[0] != count:
            raise DatasetError(f"{path}: the header declares {count} vertices but {table.shape[0]} were read. The file is truncated.")
        return {name: table[:, i].astype(_PLY_TYPES[kind]) for i, (name, kind) in enumerate(properties)}
    if fmt not in ("binary_little_endian", "binary_big_endian"):
        raise DatasetError(f"{path}: unknown PLY format {fmt!r}. Use ascii or binary PLY.")
    order = "<" if fmt == "binary_little_endian" else ">"
    dtype = np.dtype([(name, order + _PLY_TYPES[kind]) for name, kind in properties])
    data = np.fromfile(path, dtype=dtype, count=count, offset=offset)
    if data.shape[0] != count:
        raise DatasetError(f"{path}: the header declares {count} vertices but the file holds {data.shape[0]}. The file is truncated.")
    return {name: np.ascontiguousarray(data[name]) for name, _ in properties}


def _ply_has_faces(path: Path) -> bool:
    _, elements, _ = _ply_header(path)
    return any(name == "face" and count > 0 for name, count, _ in elements)


def read_points_file(path: str | Path, *, mesh_points: int = 20000, seed: int = 0) -> Scene:
    """Read any supported file: meshes are sampled to ``mesh_points`` points, clouds read as they are."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".obj", ".off", ".stl") or (suffix == ".ply" and path.is_file() and _ply_has_faces(path)):
        return read_mesh_points(path, mesh_points, seed=seed)
    return read_point_cloud(path)
