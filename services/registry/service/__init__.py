"""Registry use cases: each owns its transaction and is the only place that commits."""
