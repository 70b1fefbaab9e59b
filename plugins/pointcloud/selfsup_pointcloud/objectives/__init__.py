"""Point-cloud pretraining objectives."""
