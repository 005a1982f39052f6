"""The web process's pages and endpoints besides the webhook: run pages, dashboard, /metrics."""
