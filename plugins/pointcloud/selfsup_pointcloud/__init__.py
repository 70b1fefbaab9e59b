"""selfsup-pointcloud: 3-D scene self-supervised pretraining (MSM, GaussianCross) for selfsup.

The entry point is :mod:`selfsup_pointcloud.plugin`; it imports neither torch nor open3d.
"""

__all__: list[str] = []
