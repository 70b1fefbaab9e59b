"""selfsup-graph: graph self-supervised pretraining for selfsup (SCGC, SCGC*).

Importing this package is cheap; torch and scipy are imported by the
components' modules, which the registry loads lazily.
"""
