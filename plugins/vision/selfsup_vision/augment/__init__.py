"""Differentiable augmentations that return their parameters."""

__all__: list[str] = []
