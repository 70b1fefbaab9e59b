"""Subpackage of selfsup_timeseries; see the modules."""

__all__: list[str] = []
