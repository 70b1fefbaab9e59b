"""selfsup-example-plugin: the ``example-series`` modality for selfsup.

Importing this package is cheap (no torch): the components live in submodules
that selfsup imports only when a run needs them.
"""

__version__ = "0.1.0"
