"""The one reader of the environment: typed settings for every process."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Contract §1. Secrets are `SecretStr` so they never print by accident."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=True)

    github_app_id: str | None = Field(default=None, validation_alias="GITHUB_APP_ID")
    github_private_key: SecretStr | None = Field(
        default=None, validation_alias="GITHUB_PRIVATE_KEY"
    )
    github_private_key_path: Path | None = Field(
        default=None, validation_alias="GITHUB_PRIVATE_KEY_PATH"
    )
    github_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="GITHUB_WEBHOOK_SECRET"
    )
    github_api_url: str = Field(
        default="https://api.github.com",
        validation_alias=AliasChoices("GITHUB_API_URL"),
    )
    redis_url: str = Field(default="redis://localhost:6379/0", validation_alias="REDIS_URL")
    workdir: Path = Field(
        default_factory=lambda: Path(user_cache_dir("golden-path-bot")),
        validation_alias="GOLDEN_PATH_WORKDIR",
    )
    public_url: str | None = Field(default=None, validation_alias="GOLDEN_PATH_PUBLIC_URL")
    # `bwrap`: setup and tests run isolated (contract §5.2); `none`: for one trusted repository.
    # Worker variables plans may copy with `pass_env`: `NAME`, or `owner/repo:NAME` for one repo.
    secrets_allowed: str = Field(default="", validation_alias="GOLDEN_PATH_SECRETS")
    sandbox: Literal["bwrap", "none"] = Field(
        default="bwrap", validation_alias="GOLDEN_PATH_SANDBOX"
    )
    # The reaper (Celery beat): how often it looks, and how old a running run's last heartbeat
    # may be before its worker counts as gone. Workers beat several times per staleness window.
    reap_interval_seconds: float = Field(
        default=10.0, gt=0, validation_alias="GOLDEN_PATH_REAP_INTERVAL_SECONDS"
    )
    # Workers beat every few seconds; a run silent this long lost its worker. With the reconcile
    # loop of every `worker` process looking every `reap_interval_seconds`, a lost run is noticed
    # within stale_after + interval (40 s by default; contract §5.6 allows 60).
    stale_after_seconds: float = Field(
        default=30.0, gt=0, validation_alias="GOLDEN_PATH_STALE_AFTER_SECONDS"
    )
    # Disk: the workdir as a whole is kept under this many bytes (oldest runs' folders removed
    # first); finished runs keep only their JUnit XML, for the last `junit_keep_runs` runs of a
    # repository and at most `junit_keep_bytes` in all.
    workdir_max_bytes: int = Field(
        default=4 * 1024**3, gt=0, validation_alias="GOLDEN_PATH_WORKDIR_MAX_BYTES"
    )
    junit_keep_runs: int = Field(default=10, ge=0, validation_alias="GOLDEN_PATH_JUNIT_KEEP_RUNS")
    junit_keep_bytes: int = Field(
        default=64 * 1024**2, ge=0, validation_alias="GOLDEN_PATH_JUNIT_KEEP_BYTES"
    )
    # GitHub: seconds one request may take, and seconds of retries one call may spend on faults.
    github_timeout_seconds: float = Field(
        default=30.0, gt=0, validation_alias="GOLDEN_PATH_GITHUB_TIMEOUT_SECONDS"
    )
    github_retry_seconds: float = Field(
        default=60.0, ge=0, validation_alias="GOLDEN_PATH_GITHUB_RETRY_SECONDS"
    )
    # Content-creating requests (POST, PATCH, PUT, DELETE) per installation and minute, shared by
    # every worker through Redis (`bot.github.budget`). github.com's secondary limit is about 80;
    # a GitHub Enterprise Server may allow more (or enforce none).
    github_writes_per_minute: int = Field(
        default=60, gt=0, le=60_000, validation_alias="GOLDEN_PATH_GITHUB_WRITES_PER_MINUTE"
    )

    # Sign-in with GitHub (the App's OAuth client) and the dashboard's session cookie.
    github_client_id: str | None = Field(default=None, validation_alias="GITHUB_CLIENT_ID")
    github_client_secret: SecretStr | None = Field(
        default=None, validation_alias="GITHUB_CLIENT_SECRET"
    )
    # OAuth's authorize and token endpoints live on the web host, not on the API host.
    github_oauth_url: str = Field(default="https://github.com", validation_alias="GITHUB_OAUTH_URL")
    session_secret: SecretStr | None = Field(
        default=None, validation_alias="GOLDEN_PATH_SESSION_SECRET"
    )
    link_secret: SecretStr | None = Field(default=None, validation_alias="GOLDEN_PATH_LINK_SECRET")
    metrics_token: SecretStr | None = Field(
        default=None, validation_alias="GOLDEN_PATH_METRICS_TOKEN"
    )
    # Logs: `json` (one object per line), `console`, or `auto` (JSON unless on a terminal).
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", validation_alias="GOLDEN_PATH_LOG_FORMAT"
    )
    log_level: str = Field(default="INFO", validation_alias="GOLDEN_PATH_LOG_LEVEL")
    # How long run history (patterns, tests, a pull request's runs) is kept, in days.
    history_days: float = Field(default=90, gt=0, validation_alias="GOLDEN_PATH_HISTORY_DAYS")
    # A deployment's run gives up waiting for its environment (and the deployment is rejected,
    # saying so) after this long, so nobody waits hours for an answer.
    deploy_lock_wait_seconds: float = Field(
        default=1800.0, gt=0, validation_alias="GOLDEN_PATH_DEPLOY_LOCK_WAIT_SECONDS"
    )

    @model_validator(mode="after")
    def _strip_urls(self) -> Settings:
        # Absolute, whatever the working directory: a relative workdir would be read relative
        # to the worker but written relative to a test process's checkout.
        self.workdir = self.workdir.expanduser().resolve()
        self.github_api_url = self.github_api_url.rstrip("/")
        self.github_oauth_url = self.github_oauth_url.rstrip("/")
        if self.public_url:
            self.public_url = self.public_url.rstrip("/")
        return self

    def link_key(self) -> str | None:
        """What signs run-page links: `GOLDEN_PATH_LINK_SECRET`, else the session secret, else a
        key derived from the webhook secret (never the secret itself, so a link never helps
        forge a delivery's signature). None only when none is set: then no link opens a page."""
        for secret in (self.link_secret, self.session_secret):
            if secret is not None and secret.get_secret_value():
                return secret.get_secret_value()
        webhook = self.webhook_secret()
        if webhook is None:
            return None
        return hmac.new(webhook, b"golden-path run-link key v1", hashlib.sha256).hexdigest()

    def private_key_pem(self) -> str | None:
        """The App's PEM key, inline (`\\n` escapes allowed) or read from its file."""
        if self.github_private_key is not None:
            return self.github_private_key.get_secret_value().replace("\\n", "\n")
        if self.github_private_key_path is not None:
            return self.github_private_key_path.read_text()
        return None

    def webhook_secret(self) -> bytes | None:
        if self.github_webhook_secret is None or not self.github_webhook_secret.get_secret_value():
            return None
        return self.github_webhook_secret.get_secret_value().encode()

    def secret_values(self) -> list[str]:
        """Every secret this process holds, for the scrubber."""
        values = [
            secret.get_secret_value()
            for secret in (
                self.github_webhook_secret,
                self.github_client_secret,
                self.session_secret,
                self.link_secret,
                self.metrics_token,
            )
            if secret is not None
        ]
        pem = None
        try:
            pem = self.private_key_pem()
        except OSError:
            pem = None
        if pem:
            values.append(pem.strip())
            values.extend(line for line in pem.splitlines() if len(line) >= 16)
        return [v for v in values if v]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
