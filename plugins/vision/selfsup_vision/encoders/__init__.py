"""Image backbones (timm) registered as vision encoders."""

__all__: list[str] = []
