"""Pure loss functions of the point-cloud objectives (one file each)."""
