"""Pure loss functions of the graph objectives (one per file, math in each docstring)."""
