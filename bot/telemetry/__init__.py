"""Operability: structured logs with trace ids, and metrics that every process can feed."""
