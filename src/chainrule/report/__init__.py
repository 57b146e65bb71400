"""A run report: one self-contained HTML file with the configuration, curves, decision-boundary
snapshots, the network with its final weights, gradient norms and one chain-rule explanation."""
