"""selfsup-vision: image datasets, AugSelf-GAN / DiffAugment-GAN objectives and generative metrics."""

__all__: list[str] = []
__version__ = "0.1.0"
