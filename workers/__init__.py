"""Golden Path bot: Celery app, tasks and the runner that executes a golden-path plan."""
