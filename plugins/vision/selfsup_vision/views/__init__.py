"""Multi-crop view pipelines (batched on tensors, per-sample randomness) and view-batch transforms."""

__all__: list[str] = []
