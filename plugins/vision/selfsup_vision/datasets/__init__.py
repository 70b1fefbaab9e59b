"""Image datasets: folders, CIFAR pickles, MNIST/Fashion-MNIST IDX, bundled digits."""

__all__: list[str] = []
