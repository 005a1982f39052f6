"""The demo's stand-in for a staging deployment."""
