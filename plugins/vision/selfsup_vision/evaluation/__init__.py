"""Generative metrics: Fréchet distance and KID on Inception-v3 (FID) or local-classifier (FD-local) features."""

__all__: list[str] = []
