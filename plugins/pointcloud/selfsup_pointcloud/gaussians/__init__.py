"""GaussianCross pieces: the Gaussian splatting renderer, the voxel-anchored Gaussian heads, and their config.

Submodules are imported explicitly (``selfsup_pointcloud.gaussians.renderer``);
this package imports nothing, so that ``plugin.py`` can read
:mod:`selfsup_pointcloud.gaussians.config` without importing torch.
"""
