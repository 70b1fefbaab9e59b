"""Audio datasets. Submodules import torch/torchaudio; ``configs`` imports only the standard library."""
