"""Per-feature event handlers; each module exposes a `router`."""
