"""The yardstick for bench/process_memory.py: a Celery app with no tasks and no bot imports,
started with the same worker flags, shows what readiness costs on this machine right now."""

import os

from celery import Celery

app = Celery("bare", broker=os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
