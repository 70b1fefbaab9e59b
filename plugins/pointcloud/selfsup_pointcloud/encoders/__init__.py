"""Point-cloud encoders."""
