"""Per-process adapters built lazily from `Settings`: Redis, run records, the GitHub App."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property, lru_cache

import redis

from bot.core.plan import is_reserved
from bot.core.queues import SHARD_TASK, SHARDS_QUEUE
from bot.core.run_model import RunRecord
from bot.core.secrets_policy import SecretsAllowList
from bot.github.budget import RedisBudget, RedisWritePacer
from bot.github.client import GitHubApp, RepoClient
from bot.github.faults import Bound
from bot.github.memo import RedisMemo
from bot.github.retrying import Retrier
from bot.settings import Settings, get_settings
from bot.state.comment_replies import CommentReplies
from bot.state.deployment_gates import GateRequests
from bot.state.env_lock import EnvironmentLock
from bot.state.folder_leases import FolderLeases
from bot.state.history import History
from bot.state.ledger import RedisLedger
from bot.state.owed_publishes import OwedPublishes
from bot.state.run_records import RunRecords
from bot.state.shard_board import FileDurations, ShardBoard
from bot.state.tracking import TrackingStates
from bot.telemetry.metrics import RedisMetrics
from bot.web import links
from workers import disk
from workers.engine import sandbox
from workers.job.checkout import checkout
from workers.job.ports import RunServices, ShardPorts
from workers.owed_publish import OwedPublisher
from workers.reaper import Launcher, Reaper, ReapLimits
from workers.reconcile import Reconciler


@dataclass
class Services:
    settings: Settings

    @cached_property
    def redis(self) -> redis.Redis:
        # A Redis paused for 10 s (CLIENT PAUSE) must look slow, not broken: reads wait it out.
        return redis.Redis.from_url(
            self.settings.redis_url, socket_connect_timeout=2, socket_timeout=15
        )

    @cached_property
    def records(self) -> RunRecords:
        return RunRecords(self.redis)

    @cached_property
    def gates(self) -> GateRequests:
        return GateRequests(self.redis)

    @cached_property
    def comment_replies(self) -> CommentReplies:
        return CommentReplies(self.redis)

    @cached_property
    def ledger(self) -> RedisLedger:
        return RedisLedger(self.redis)

    @cached_property
    def owed(self) -> OwedPublishes:
        return OwedPublishes(self.redis)

    @cached_property
    def folder_leases(self) -> FolderLeases:
        return FolderLeases(self.redis)

    @cached_property
    def owed_publisher(self) -> OwedPublisher:
        """Posts what lost workers' reports still owe (one per process: it counts the tries)."""
        return OwedPublisher(
            self.owed,
            self.records,
            self.github_for,
            self.ledger,
            tuple(self.settings.secret_values()),
        )

    @cached_property
    def github_app(self) -> GitHubApp:
        pem = self.settings.private_key_pem()
        if not self.settings.github_app_id or not pem:
            raise RuntimeError("GITHUB_APP_ID and GITHUB_PRIVATE_KEY(_PATH) are required")
        return GitHubApp(
            self.settings.github_app_id,
            pem,
            self.settings.github_api_url,
            on_response=self.metrics.github_response,
            memo=RedisMemo(self.redis),  # shared: the next run, on any worker, skips the reads
            # Writes per installation, paced across every worker.
            pacer=RedisWritePacer(self.redis, self.settings.github_writes_per_minute),
            retrier=self.retrier,
            timeout=self.settings.github_timeout_seconds,
        )

    @cached_property
    def metrics(self) -> RedisMetrics:
        return RedisMetrics(self.redis)

    @cached_property
    def history(self) -> History:
        return History(self.redis, max_age_days=self.settings.history_days)

    @cached_property
    def retrier(self) -> Retrier:
        """GitHub faults retried inside a bound, from a budget every process shares in Redis."""
        bound = Bound(total_seconds=self.settings.github_retry_seconds)
        return Retrier(budget=RedisBudget(self.redis), bound=bound)

    def github_for(self, installation_id: int, repo: str) -> RepoClient:
        return self.github_app.repo_client(installation_id, repo)

    def lock_for(self, repo: str, environment: str, run_id: str) -> EnvironmentLock:
        return EnvironmentLock(self.redis, repo, environment, run_id)

    def release_lock_of(self, record: RunRecord) -> None:
        """Free the place a lost attempt held in its environment's line."""
        if record.environment:
            self.lock_for(record.repo, record.environment, record.lock_owner).release()

    def reaper(self, launcher: Launcher | None) -> Reaper:
        limits = ReapLimits(heartbeat_stale_seconds=self.settings.stale_after_seconds)
        return Reaper(self.records, self.github_for, launcher, self.release_lock_of, limits)

    def reconciler(self, launcher: Launcher | None) -> Reconciler:
        return Reconciler(
            reaper=self.reaper(launcher),
            ping=self.redis.ping,
            # active runs, and finished ones whose job still uses its folders (publishing)
            running_ids=lambda: (
                {r.run_id for r in self.records.active()} | self.folder_leases.held()
            ),
            workdir=self.settings.workdir,
            limits=disk.DiskLimits(
                max_bytes=self.settings.workdir_max_bytes,
                junit_keep_runs=self.settings.junit_keep_runs,
                junit_keep_bytes=self.settings.junit_keep_bytes,
            ),
            finish_owed=self.owed_publisher.finish,
            interval=self.settings.reap_interval_seconds,
            trust_after=self.settings.stale_after_seconds,
        )

    @cached_property
    def shard_ports(self) -> ShardPorts:
        """A sharded phase's board and durations in Redis; its shards go to the `shards` queue,
        which the runs worker of every `worker` process, on any machine, consumes."""

        def send(group: str, index: int) -> None:
            from workers.celery_app import app  # the Celery app only where a shard is sent

            app.send_task(SHARD_TASK, kwargs={"group": group, "index": index}, queue=SHARDS_QUEUE)

        return ShardPorts(
            board_for=lambda group: ShardBoard(self.redis, group),
            durations=FileDurations(self.redis),
            send=send,
        )

    def details_url(self, run_id: str) -> str | None:
        if not self.settings.public_url:
            return None
        return links.run_url(self.settings.public_url, run_id, self.settings.link_key())

    def run_services(self) -> RunServices:
        # the bot's own variables never reach a run, whatever a plan or GOLDEN_PATH_SECRETS says
        worker_env = {k: v for k, v in os.environ.items() if not is_reserved(k)}
        return RunServices(
            records=self.records,
            github_for=self.github_for,
            lock_for=self.lock_for,
            checkout=checkout,
            workdir=self.settings.workdir,
            worker_env=worker_env,
            bot_secrets=self.settings.secret_values(),
            ledger=self.ledger,
            on_lock_wait=self.metrics.lock_waited,
            isolation=sandbox.isolation(self.settings.sandbox),
            sandboxed=self.settings.sandbox != "none",
            history=self.history,
            secrets_allowed=SecretsAllowList.parse(self.settings.secrets_allowed),
            gates=self.gates,
            tracking=TrackingStates(self.redis),
            owed=self.owed,
            folder_leases=self.folder_leases,
            shards=self.shard_ports,
        )


@lru_cache(maxsize=1)
def get_services() -> Services:
    return Services(get_settings())
