"""selfsup-audio: self-supervised audio pretraining (SSAST) for selfsup."""

__version__ = "0.1.0"
