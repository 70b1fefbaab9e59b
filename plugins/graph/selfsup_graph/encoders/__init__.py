"""Graph node encoders."""
