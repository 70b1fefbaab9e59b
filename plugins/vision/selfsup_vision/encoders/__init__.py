"""Image backbones (timm) registered as vision encoders, and MAE's ViT (``mae-vit``)."""

__all__: list[str] = []
