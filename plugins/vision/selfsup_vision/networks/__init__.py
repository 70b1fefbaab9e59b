"""Networks: BigGAN-style generator and discriminator."""

__all__: list[str] = []
