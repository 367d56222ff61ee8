"""Use cases of the screening service: the only place that commits."""
