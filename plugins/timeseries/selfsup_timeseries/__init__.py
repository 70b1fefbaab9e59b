"""selfsup-timeseries: the first-party ``timeseries`` modality (frame projections, UCR/UEA loaders)."""

__all__: list[str] = []
