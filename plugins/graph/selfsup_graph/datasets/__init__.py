"""Graph data sources: Planetoid citation graphs and a generated stochastic block model."""
