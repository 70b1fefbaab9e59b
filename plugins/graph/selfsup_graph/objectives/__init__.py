"""Graph pretraining objectives."""
