"""The GitHub App client: JWT, cached installation tokens, and the few REST calls the bot makes.

The only module that imports PyGithub. Callers get plain values (`PullInfo`, `IssueRef`, ints,
strings, dicts) and a small error hierarchy, never PyGithub objects. Requests go through PyGithub's
`Requester` (auth, retries, base URL, JSON) with explicit REST paths: one request per call, no lazy
objects that fetch behind our back.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import github
from urllib3.util.retry import Retry

from bot.core.history import MAX_CHANGED_COMMITS, MAX_CHANGED_FILES, Changes
from bot.github.budget import LocalWritePacer, WritePacer
from bot.github.faults import Fault, classify
from bot.github.memo import LocalMemo, Memo
from bot.github.retrying import TRANSPORT_ERRORS, Paused, Retrier, answer_of

log = logging.getLogger(__name__)

TOKEN_REFRESH_MARGIN = timedelta(minutes=5)
MAX_LIST_PAGES = 20  # 2,000 comments or issues: enough to find our own, bounded if not
TIMEOUT_SECONDS = 30


class GitHubError(Exception):
    """A GitHub request failed; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class GitHubNotFound(GitHubError):
    pass


class GitHubRateLimited(GitHubError):
    def __init__(self, message: str, reset_at: datetime, status: int | None = None):
        super().__init__(message, status)
        self.reset_at = reset_at

    @property
    def retry_after(self) -> float:
        return max(1.0, (self.reset_at - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class PullInfo:
    number: int
    state: str
    head_sha: str
    head_ref: str
    head_full_name: str
    head_clone_url: str
    base_full_name: str
    base_ref: str
    body: str
    html_url: str
    user_login: str
    is_fork: bool


@dataclass(frozen=True)
class IssueRef:
    number: int
    url: str
    state: str = "open"
    body: str = ""


def default_retry() -> Retry:
    """No retries inside PyGithub: `Retrier` retries with jitter inside a bound and a budget
    shared across processes, and knows which requests may be repeated. PyGithub's own retries
    would sleep where nobody counts (minutes of silent waiting on a rate limit)."""
    return Retry(total=0, raise_on_status=False)


def _answer_lost(error: GitHubError) -> bool:
    """No answer, or a 5xx: GitHub may have done what was asked."""
    return error.status is None or 500 <= error.status <= 599


def _translate(error: Exception, what: str) -> GitHubError:
    """A PyGithub or transport error as one of ours; never carries request headers or tokens."""
    if isinstance(error, Paused):
        reset = datetime.now(UTC) + timedelta(seconds=error.seconds)
        return GitHubRateLimited(f"{what}: {error}", reset)
    answer = answer_of(error)
    status = answer.status
    if isinstance(error, github.GithubException):
        text = f"{what}: HTTP {status} {answer.message}".strip()
    else:
        text = f"{what}: {type(error).__name__} (HTTP {status})"
    limited = isinstance(error, github.RateLimitExceededException) or classify(answer) in (
        Fault.PRIMARY,
        Fault.SECONDARY,
    )
    if limited:
        headers = {k.lower(): v for k, v in answer.headers.items()}
        return GitHubRateLimited(text, _reset_at(headers), status)
    if status == 404:
        return GitHubNotFound(text, status)
    return GitHubError(text, status)


def _reset_at(headers: dict[str, str]) -> datetime:
    now = datetime.now(UTC)
    try:
        if "retry-after" in headers:
            return now + timedelta(seconds=float(headers["retry-after"]))
        if "x-ratelimit-reset" in headers:
            return datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), UTC)
    except ValueError:
        pass
    return now + timedelta(seconds=60)


# (installation_id, method, path, status, x-ratelimit-remaining, repo): what `/metrics` counts.
ResponseObserver = Callable[[int | None, str, str, "int | str", "str | None", "str | None"], None]


def _ignore_response(*_: Any) -> None:
    return None


def _status_and_remaining(error: Exception) -> tuple[int | str, str | None]:
    if isinstance(error, github.GithubException):
        headers = {k.lower(): v for k, v in (error.headers or {}).items()}
        return error.status, headers.get("x-ratelimit-remaining")
    return "error", None


_BUILT_IN_ROLES = frozenset({"admin", "maintain", "write", "triage", "read"})
_ERRORS = (*TRANSPORT_ERRORS, Paused)


# PyGithub spaces requests (0.25 s) and writes (1 s) by default, per client object. GitHub's limit
# on content-creating writes is per installation, so writes are paced by one schedule per
# installation that every process shares (`bot.github.budget`), and PyGithub's own gaps are off:
# a reaction and a queued check go out at once, a burst of twenty runs is spread over minutes.
READ_GAP_SECONDS: float | None = None
WRITE_GAP_SECONDS: float | None = None
_WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class GitHubApp:
    """One GitHub App: its JWT and a per-installation token cache (thread-safe)."""

    def __init__(
        self,
        app_id: str,
        private_key_pem: str,
        base_url: str = "https://api.github.com",
        *,
        retry: Retry | None = None,
        seconds_between_requests: float | None = READ_GAP_SECONDS,
        seconds_between_writes: float | None = WRITE_GAP_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_response: ResponseObserver = _ignore_response,
        memo: Memo | None = None,
        pacer: WritePacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retrier: Retrier | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._on_response = on_response
        self._retry = retry if retry is not None else default_retry()
        self._gaps = (seconds_between_requests, seconds_between_writes)
        self._clock = clock
        self._memo = memo if memo is not None else LocalMemo()
        self._pacer = pacer if pacer is not None else LocalWritePacer()
        self._sleep = sleep
        self._retrier = retrier or Retrier()
        self._timeout = timeout
        # AppAuth signs RS256 with iat 60 s in the past and exp 5 min ahead (PyGithub defaults).
        self._integration = github.GithubIntegration(
            auth=github.Auth.AppAuth(str(app_id), private_key_pem),
            base_url=self.base_url,
            retry=self._retry,
            timeout=int(timeout),
        )
        self._tokens: dict[int, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def installation_token(self, installation_id: int) -> str:
        """A token for the installation, reused until five minutes before it expires."""
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached is not None and self._clock() < cached[1] - TOKEN_REFRESH_MARGIN:
                return cached[0]
            path = f"/app/installations/{installation_id}/access_tokens"
            try:
                auth = self._retrier.call(
                    lambda: self._integration.get_access_token(installation_id),
                    what=f"installation {installation_id} token",
                    installation_id=installation_id,
                )
            except _ERRORS as error:
                status, _ = _status_and_remaining(error)
                self._on_response(installation_id, "POST", path, status, None, None)
                raise _translate(error, f"installation {installation_id} token") from None
            self._on_response(installation_id, "POST", path, "2xx", None, None)
            expires_at = auth.expires_at
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=UTC)
            self._tokens[installation_id] = (auth.token, expires_at)
            return auth.token

    def repository_token(self, installation_id: int, full_name: str) -> str:
        """A fresh token that can only read the contents of `full_name`, for git to fetch with:
        the one token that goes near the run's files opens nothing else (never cached)."""
        body = {"repositories": [full_name.split("/", 1)[-1]], "permissions": {"contents": "read"}}
        try:
            _, data = self._integration.requester.requestJsonAndCheck(
                "POST", f"/app/installations/{installation_id}/access_tokens", input=body
            )
        except _ERRORS as error:
            raise _translate(error, f"installation {installation_id} fetch token") from None
        return str(data["token"])

    def repo_client(self, installation_id: int, full_name: str) -> RepoClient:
        return RepoClient(
            lambda: self.installation_token(installation_id),
            full_name,
            fetch_token_source=lambda: self.repository_token(installation_id, full_name),
            base_url=self.base_url,
            retry=self._retry,
            seconds_between_requests=self._gaps[0],
            seconds_between_writes=self._gaps[1],
            on_response=functools.partial(self._on_response, installation_id),
            memo=self._memo,
            before_write=functools.partial(self._wait_for_write, installation_id),
            installation_id=installation_id,
            retrier=self._retrier,
            timeout=self._timeout,
        )

    def _wait_for_write(self, installation_id: int) -> None:
        wait = self._pacer.reserve_write(installation_id)
        if wait > 0:
            log.info("pacing GitHub writes of installation %s: %.1f s", installation_id, wait)
            self._sleep(wait)


class RepoClient:
    """The bot's calls on one repository, as one installation."""

    def __init__(
        self,
        token_source: Callable[[], str],
        full_name: str,
        *,
        base_url: str = "https://api.github.com",
        retry: Retry | None = None,
        seconds_between_requests: float | None = READ_GAP_SECONDS,
        seconds_between_writes: float | None = WRITE_GAP_SECONDS,
        on_response: Callable[..., None] = _ignore_response,
        memo: Memo | None = None,
        before_write: Callable[[], None] = lambda: None,
        fetch_token_source: Callable[[], str] | None = None,
        installation_id: int | None = None,
        retrier: Retrier | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.full_name = full_name
        self._before_write = before_write  # the installation's write pacing
        self._on_response = on_response  # (method, path, status, remaining, repo)
        self.installation_id = installation_id
        self._retrier = retrier or Retrier()
        self._timeout = timeout
        self._token_source = token_source
        self._fetch_token_source = fetch_token_source or token_source
        self._base_url = base_url.rstrip("/")
        self._retry = retry if retry is not None else default_retry()
        self._gaps = (seconds_between_requests, seconds_between_writes)
        self._gh: github.Github | None = None
        self._gh_token = ""
        self._memo = memo if memo is not None else LocalMemo()  # see bot/github/memo.py
        self._open_issues: dict[str, list[dict[str, Any]]] = {}  # by label, for this client
        self._any_issues: dict[str, list[dict[str, Any]]] = {}  # open or closed, by label
        self._repo_path = f"/repos/{full_name}"

    # --- plumbing -------------------------------------------------------------------------

    @property
    def token(self) -> str:
        """The current installation token (for the scrubber)."""
        return self._token_source()

    def fetch_token(self) -> str:
        """A token for git to fetch the repository with: `contents: read` on it alone."""
        return self._fetch_token_source()

    def _requester(self) -> Any:
        token = self.token
        if self._gh is None or token != self._gh_token:
            self._gh = github.Github(
                auth=github.Auth.Token(token),
                base_url=self._base_url,
                retry=self._retry,
                timeout=int(self._timeout),
                seconds_between_requests=self._gaps[0],
                seconds_between_writes=self._gaps[1],
            )
            self._gh_token = token
        return self._gh.requester

    def _call(
        self, verb: str, path: str, body: Any = None, *, creates: bool = False, **query: Any
    ) -> Any:
        """One REST call, retried on GitHub faults. `creates`: a POST that makes something new
        (a comment, an issue, a check run), never repeated after a 5xx or a timeout here, since
        GitHub may have made it; the caller finds it by its marker or idempotency key."""
        url = f"{self._repo_path}{path}"
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        if verb in _WRITES:
            self._before_write()
        try:
            headers, data = self._retrier.call(
                lambda: self._requester().requestJsonAndCheck(verb, url, input=body),
                what=f"{verb} {url}",
                installation_id=self.installation_id,
                repo=self.full_name,
                idempotent=not creates,
            )
        except _ERRORS as error:
            status, remaining = _status_and_remaining(error)
            self._on_response(verb, url, status, remaining, self.full_name)
            raise _translate(error, f"{verb} {url}") from None
        remaining = {k.lower(): v for k, v in (headers or {}).items()}.get("x-ratelimit-remaining")
        # PyGithub hands back headers and data, not the status: any success is "2xx"
        self._on_response(verb, url, "2xx", remaining, self.full_name)
        return data

    def _pages(self, path: str, key: str | None = None, **query: Any) -> Iterator[dict[str, Any]]:
        for page in range(1, MAX_LIST_PAGES + 1):
            data = self._call("GET", path, per_page=100, page=page, **query)
            items = data.get(key, []) if key else data
            yield from items
            if len(items) < 100:
                return

    # --- reads ----------------------------------------------------------------------------

    def permission_of(self, login: str) -> str:
        """`admin`, `maintain`, `write`, `triage`, `read` or `none` (role_name tells maintain
        and triage apart, which `permission` folds into write and read)."""
        try:
            data = self._call("GET", f"/collaborators/{quote(login, safe='')}/permission")
        except GitHubNotFound:
            return "none"
        role = str(data.get("role_name") or "")
        if role in _BUILT_IN_ROLES:
            return role
        # A custom repository role (an organisation's own name): its base permission decides.
        return str(data.get("permission") or "none")

    def get_pull(self, number: int) -> PullInfo:
        data = self._call("GET", f"/pulls/{number}")
        head, base = data.get("head") or {}, data.get("base") or {}
        head_repo, base_repo = head.get("repo") or {}, base.get("repo") or {}
        head_name, base_name = head_repo.get("full_name") or "", base_repo.get("full_name") or ""
        return PullInfo(
            number=int(data["number"]),
            state=str(data.get("state") or ""),
            head_sha=str(head.get("sha") or ""),
            head_ref=str(head.get("ref") or ""),
            head_full_name=head_name,
            head_clone_url=str(head_repo.get("clone_url") or ""),
            base_full_name=base_name,
            base_ref=str(base.get("ref") or ""),
            body=str(data.get("body") or ""),
            html_url=str(data.get("html_url") or ""),
            user_login=str((data.get("user") or {}).get("login") or ""),
            is_fork=not head_name or head_name.lower() != base_name.lower(),
        )

    def compare(self, base: str, head: str) -> Changes:
        """The commits and changed files from `base` to `head` (GitHub's compare API; one page:
        GitHub lists up to 250 commits and 300 files, the counts say how many there are)."""
        data = self._call("GET", f"/compare/{quote(base, safe='')}...{quote(head, safe='')}")
        commits = data.get("commits") or []
        files = data.get("files") or []
        return Changes(
            base=base,
            commits=tuple(
                (
                    str(c.get("sha") or ""),
                    str((c.get("commit") or {}).get("message") or "").split("\n", 1)[0],
                )
                for c in commits[-MAX_CHANGED_COMMITS:]
            ),
            files=tuple(str(f.get("filename") or "") for f in files[:MAX_CHANGED_FILES]),
            total_commits=int(data.get("total_commits") or len(commits)),
            total_files=len(files),
        )

    def repo_clone_url(self) -> str:
        return str(self._call("GET", "").get("clone_url") or "")

    def read_file(self, path: str, ref: str) -> str | None:
        """A file's text at `ref`, or None when it does not exist there."""
        try:
            data = self._call("GET", f"/contents/{quote(path)}", ref=ref)
        except GitHubNotFound:
            return None
        if not isinstance(data, dict) or data.get("type") != "file":
            return None
        return base64.b64decode(data.get("content") or "").decode("utf-8", errors="replace")

    def check_run_url(self, check_run_id: int) -> str | None:
        """The check run's page on GitHub (the link when the bot has no public URL of its own)."""
        try:
            data = self._call("GET", f"/check-runs/{check_run_id}")
        except GitHubNotFound:
            return None
        return str(data.get("html_url") or "") or None

    def list_check_runs(
        self, head_sha: str, check_name: str, *, app_id: str | int | None = None
    ) -> list[dict[str, Any]]:
        """The commit's check runs of `check_name`; only `app_id`'s when given."""
        runs = self._pages(
            f"/commits/{head_sha}/check-runs", "check_runs", check_name=check_name, app_id=app_id
        )
        return [
            {
                "id": r["id"],
                "name": r.get("name"),
                "status": r.get("status"),
                "conclusion": r.get("conclusion"),
                "external_id": r.get("external_id"),
                "title": (r.get("output") or {}).get("title") or "",
                "html_url": r.get("html_url") or "",
                "app_id": (r.get("app") or {}).get("id"),
            }
            for r in runs
        ]

    def find_comment(self, number: int, marker: str) -> str | None:
        """The URL of the bot's comment on `number` carrying `marker`, if there is one."""
        for existing in self._pages(f"/issues/{number}/comments"):
            user = existing.get("user") or {}
            if user.get("type") == "Bot" and marker in (existing.get("body") or ""):
                return str(existing.get("html_url") or "")
        return None

    def list_annotations(self, check_run_id: int) -> list[dict[str, Any]]:
        """The check run's annotations as GitHub holds them (to resume a batch whose answer was
        lost)."""
        return list(self._pages(f"/check-runs/{check_run_id}/annotations"))

    def find_open_issue(self, label: str, marker: str) -> IssueRef | None:
        """The open issue labelled `label` whose body holds `marker`. One listing per label per
        client: a run looking up several failure patterns reads the issues once."""
        if label not in self._open_issues:
            listed = self._pages("/issues", state="open", labels=label)
            self._open_issues[label] = [i for i in listed if "pull_request" not in i]
        for issue in self._open_issues[label]:
            if marker in (issue.get("body") or ""):
                return IssueRef(int(issue["number"]), str(issue.get("html_url") or ""))
        return None

    def find_issue(self, label: str, marker: str) -> IssueRef | None:
        """The newest issue, open or closed, labelled `label` whose body holds `marker` (a
        five-whys issue closed as fixed is reopened when its pattern fails again). One listing
        per label per client."""
        if label not in self._any_issues:
            listed = self._pages("/issues", state="all", labels=label)
            self._any_issues[label] = [i for i in listed if "pull_request" not in i]
        for issue in self._any_issues[label]:
            body = issue.get("body") or ""
            if marker in body:
                return IssueRef(
                    int(issue["number"]),
                    str(issue.get("html_url") or ""),
                    str(issue.get("state") or "open"),
                    body,
                )
        return None

    # --- writes ---------------------------------------------------------------------------

    def answer_deployment_gate(
        self, workflow_run_id: int, environment: str, state: str, comment: str
    ) -> None:
        """Approve or reject a deployment waiting on this App (a custom deployment protection
        rule). Always sent to this client's own API base: the callback URL a payload names
        only tells which workflow run it is."""
        self._call(
            "POST",
            f"/actions/runs/{int(workflow_run_id)}/deployment_protection_rule",
            {"environment_name": environment, "state": state, "comment": comment},
        )

    def react(self, comment_id: int, content: str) -> None:
        self._call("POST", f"/issues/comments/{comment_id}/reactions", {"content": content})

    def comment(self, number: int, body: str) -> str:
        data = self._call("POST", f"/issues/{number}/comments", {"body": body}, creates=True)
        return str(data.get("html_url") or "")

    def reply(self, number: int, body: str) -> str:
        """Answer a command with a comment on its pull request."""
        return self.comment(number, body)

    def has_comment_with(self, number: int, marker: str) -> bool:
        """Whether the bot already commented on `number` with `marker` in the body."""
        return any(
            (c.get("user") or {}).get("type") == "Bot" and marker in (c.get("body") or "")
            for c in self._pages(f"/issues/{number}/comments")
        )

    def is_pull_request(self, number: int) -> bool:
        """Whether issue `number` is a pull request (GitHub's issue object then has
        `pull_request`). A number never changes kind, so the memo keeps the answer."""
        key = f"kind:{self.full_name}:{number}"
        known = self._memo.get(key)
        if known:
            return known == "pull"
        pull = bool(self._call("GET", f"/issues/{number}").get("pull_request"))
        self._memo.put(key, "pull" if pull else "issue")
        return pull

    def upsert_comment(self, number: int, marker: str, body: str) -> str:
        """Edit the bot's comment carrying `marker` (only when the body changed), else create.

        The memo remembers the comment and the body last written, so a steady-state edit is one
        request (none when nothing changed) instead of listing the thread first."""
        key = f"comment:{self.full_name}:{number}:{_digest(marker)}"
        known = self._memo.get(key)
        if known:
            comment_id, written, url = known.split(" ", 2)
            if written == _digest(body):
                return url
            try:
                self._call("PATCH", f"/issues/comments/{comment_id}", {"body": body})
            except GitHubNotFound:
                self._memo.forget(key)  # deleted by someone: find it or post it again
            else:
                self._memo.put(key, f"{comment_id} {_digest(body)} {url}")
                return url
        for existing in self._pages(f"/issues/{number}/comments"):
            user = existing.get("user") or {}
            if user.get("type") == "Bot" and marker in (existing.get("body") or ""):
                if existing.get("body") != body:
                    self._call("PATCH", f"/issues/comments/{existing['id']}", {"body": body})
                url = str(existing.get("html_url") or "")
                self._memo.put(key, f"{existing['id']} {_digest(body)} {url}")
                return url
        data = self._call("POST", f"/issues/{number}/comments", {"body": body}, creates=True)
        url = str(data.get("html_url") or "")
        self._memo.put(key, f"{data['id']} {_digest(body)} {url}")
        return url

    def create_issue(self, title: str, body: str, labels: list[str]) -> IssueRef:
        try:
            data = self._call(
                "POST", "/issues", {"title": title, "body": body, "labels": labels}, creates=True
            )
        except GitHubError as error:
            if _answer_lost(error):  # it may exist now: the next find lists again
                for label in labels:
                    self._open_issues.pop(label, None)
                    self._any_issues.pop(label, None)
            raise
        for label in labels:
            self._open_issues.get(label, []).append(data)
            self._any_issues.get(label, []).insert(0, data)
        return IssueRef(int(data["number"]), str(data.get("html_url") or ""))

    def update_issue(self, number: int, *, body: str, state: str | None = None) -> None:
        """Rewrite an issue's body (the tracking issue, a five-whys "Seen in" table); with
        `state`, open or close it too."""
        fields = {"body": body} if state is None else {"body": body, "state": state}
        self._call("PATCH", f"/issues/{number}", fields)

    def ensure_label(self, name: str, color: str, description: str) -> None:
        key = f"label:{self.full_name}:{name}"
        if self._memo.get(key):
            return
        try:
            self._call("GET", f"/labels/{quote(name, safe='')}")
        except GitHubNotFound:
            try:
                self._call(
                    "POST", "/labels", {"name": name, "color": color, "description": description}
                )
            except GitHubError as error:
                if error.status != 422:  # 422: created meanwhile by another run
                    raise
        self._memo.put(key, "1")

    def add_labels(self, number: int, names: list[str]) -> None:
        """Add labels; skipped when the bot itself last set each of them on this issue."""
        keys = [f"issue-label:{self.full_name}:{number}:{name}" for name in names]
        if all(self._memo.get(key) == "on" for key in keys):
            return
        self._call("POST", f"/issues/{number}/labels", {"labels": list(names)})
        for key in keys:
            self._memo.put(key, "on")

    def remove_label(self, number: int, name: str) -> None:
        """Remove a label; skipped when the bot itself last removed it from this issue."""
        key = f"issue-label:{self.full_name}:{number}:{name}"
        if self._memo.get(key) == "off":
            return
        with contextlib.suppress(GitHubNotFound):  # not there: that is what we wanted
            self._call("DELETE", f"/issues/{number}/labels/{quote(name, safe='')}")
        self._memo.put(key, "off")

    def create_check_run(
        self,
        *,
        name: str,
        head_sha: str,
        status: str,
        conclusion: str | None = None,
        title: str,
        summary: str,
        text: str | None = None,
        details_url: str | None = None,
        external_id: str | None = None,
        actions: list[dict[str, Any]] | None = None,
        annotations: list[dict[str, Any]] | None = None,
    ) -> int:
        body: dict[str, Any] = {
            "name": name,
            "head_sha": head_sha,
            "status": status,
            "output": _output(title, summary, text, annotations),
        }
        optional = {
            "conclusion": conclusion,
            "details_url": details_url,
            "external_id": external_id,
            "actions": actions,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        try:
            return int(self._call("POST", "/check-runs", body, creates=True)["id"])
        except GitHubError as error:
            if external_id is None or not _answer_lost(error):
                raise
            # GitHub may have created it before the answer was lost: find it by its external id
            # (the run id) rather than leave a second check run queued for ever.
            try:
                runs = self.list_check_runs(head_sha, name)
            except GitHubError:
                raise error from None
            found = [r["id"] for r in runs if r.get("external_id") == external_id]
            if not found:
                raise
            log.info("check run for %s was created; its answer was lost", external_id)
            return int(found[0])

    def update_check_run(
        self,
        check_run_id: int,
        *,
        status: str | None = None,
        conclusion: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
        annotations: list[dict[str, Any]] | None = None,
        details_url: str | None = None,
        actions: list[dict[str, Any]] | None = None,
        name: str | None = None,
    ) -> None:
        body: dict[str, Any] = {}
        optional = {
            "name": name,
            "status": status,
            "conclusion": conclusion,
            "details_url": details_url,
            "actions": actions,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if title is not None or summary is not None or text is not None or annotations:
            if title is None or summary is None:
                raise ValueError("GitHub needs the output's title and summary with any output")
            body["output"] = _output(title, summary, text, annotations)
        # Annotations add up on GitHub: a PATCH carrying them is not repeated after a 5xx or a
        # timeout here (publishing resumes it by its idempotency key).
        self._call("PATCH", f"/check-runs/{check_run_id}", body, creates=bool(annotations))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _output(
    title: str, summary: str, text: str | None, annotations: list[dict[str, Any]] | None
) -> dict[str, Any]:
    output: dict[str, Any] = {"title": title, "summary": summary}
    if text:
        output["text"] = text
    if annotations:
        if len(annotations) > 50:
            raise ValueError("GitHub takes at most 50 annotations per request")
        output["annotations"] = annotations
    return output
