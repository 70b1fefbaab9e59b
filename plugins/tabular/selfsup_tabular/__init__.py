"""selfsup-tabular: tabular self-supervised pretraining for selfsup (T-JEPA, CLAN, ...).

The components are registered through the ``selfsup`` entry point
(``selfsup_tabular.plugin``); data sources live in :mod:`selfsup_tabular.datasets`.
"""
