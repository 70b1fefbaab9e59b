"""Per-point semantic-segmentation evaluators (linear probe and k-NN) and their metrics."""
