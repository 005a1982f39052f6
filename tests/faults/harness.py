"""The fault suite's tools: the table of what each fault did, and the checks every case makes.

Every case ends with `check_nothing_lost`, which looks at the world from outside (the fake GitHub,
the workdir, /proc) and lists what was lost: a check run left queued or in progress, a duplicate
comment, reply, issue or annotation, a leftover process or folder, a dishonest conclusion. The
row goes into the table first, then the case asserts the list is empty, so a loss shows in the
table as well as in the failure.
"""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from bot.state.run_records import RunRecord, RunRecords
from sandbox import webhook_delivery, webhooks
from sandbox.stack import Stack, commit_all, wait_until

ROOT = Path(__file__).resolve().parents[2]
TABLE_HEADER = ("fault", "where injected", "times tried", "outcome", "what was lost")


@dataclass(frozen=True)
class Row:
    fault: str
    where: str
    tried: str
    outcome: str
    lost: str


ROWS: list[Row] = []


def record(fault: str, where: str, tried: object, outcome: str, lost: list[str]) -> None:
    ROWS.append(Row(fault, where, str(tried), outcome, "; ".join(lost) or "nothing"))


def render_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + " --- |" * len(TABLE_HEADER)]
    for row in rows:
        cells = (row.fault, row.where, row.tried, row.outcome, row.lost)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


# --- projects -----------------------------------------------------------------------------

PASSING = """
def test_login_ok():
    assert True
"""

FAILING = """
def test_checkout_total():
    assert 41 == 42, "order total mismatch"
"""

PID_SUITE = """
import os, time


def test_slow_journey():
    with open({pid_file!r}, "a") as pids:
        pids.write(f"{{os.getpid()}}\\n")
    first = not os.path.exists({pid_file!r} + ".ran")
    open({pid_file!r} + ".ran", "a").close()
    time.sleep({seconds} if first else 0.5)  # slow on the first attempt only
"""


def plan(*, environment: str = "staging", setup: str = "", slow: bool = False) -> str:
    phases = """
  - id: auth
    name: Core authentication
    mrr_at_risk: 120000
    suites: [tests/test_auth.py]
"""
    if slow:
        phases += """
  - id: slow
    name: Slow journey
    mrr_at_risk: 80000
    suites: [tests/test_slow.py]
"""
    setup_block = f"setup:\n  - name: deploy\n    run: {setup!r}\n" if setup else ""
    return f"check_name: Golden Path P0\nenvironment: {environment}\n{setup_block}phases:{phases}"


@dataclass
class Project:
    repo: str
    number: int
    path: Path
    sha: str
    pid_file: Path


def make_project(
    stack: Stack,
    root: Path,
    *,
    suite: str = PASSING,
    slow_seconds: float = 0,
    environment: str = "staging",
    setup: str = "",
    body: str = "",
) -> Project:
    repo = f"acme/f-{uuid.uuid4().hex[:8]}"
    pid_file = root / f"{repo.replace('/', '_')}.pids"
    files = {
        ".github/golden-path.yml": plan(
            environment=environment, setup=setup, slow=slow_seconds > 0
        ),
        "tests/test_auth.py": suite,
    }
    if slow_seconds:
        files["tests/test_slow.py"] = PID_SUITE.format(pid_file=str(pid_file), seconds=slow_seconds)
    path, sha = stack.add_project(
        repo,
        files,
        path=root / repo.replace("/", "_"),
        body=body,
        permissions={"octocat": "write"},
    )
    return Project(repo, 1, path, sha, pid_file)


def say(
    stack: Stack, project: Project, body: str = "/golden-path run", installation_id: int = 0
) -> int:
    """A comment as GitHub announces it; returns the comment's id. `installation_id`: another
    installation of the App than the stack's (the workers hold no token for a new one yet)."""
    if not installation_id:
        response = stack.comment(project.repo, project.number, body)
        assert response.status_code in (200, 202), response.text
        return int(stack.github.fake.comments(project.repo, project.number)[-1]["id"])
    comment_id = stack.github.fake.add_comment(project.repo, project.number, body)
    payload = webhooks.comment_on_pr(
        project.repo,
        project.number,
        body,
        installation_id=installation_id,
        base_url=stack.github.url,
        comment_id=comment_id,
    )
    response = stack.deliver("issue_comment", payload)
    assert response.status_code in (200, 202), response.text
    return comment_id


def deliver_comment(
    stack: Stack, project: Project, comment_id: int, body: str, delivery_id: str
) -> int:
    payload = webhooks.comment_on_pr(
        project.repo,
        project.number,
        body,
        installation_id=stack.installation_id,
        base_url=stack.github.url,
        comment_id=comment_id,
    )
    raw = webhook_delivery.json_body(payload)
    headers = webhook_delivery.delivery_headers("issue_comment", raw, stack.secret, delivery_id)
    import httpx

    return httpx.post(f"{stack.web_url}/webhook", content=raw, headers=headers).status_code


def records(stack: Stack) -> RunRecords:
    return RunRecords(redis.Redis.from_url(stack.redis.url, socket_timeout=15))


def latest(stack: Stack, project: Project) -> RunRecord | None:
    try:
        return records(stack).latest_for_pr(project.repo, project.number)
    except redis.RedisError:
        return None


def wait_record(
    stack: Stack, project: Project, check: Any, what: str, timeout: float = 60
) -> RunRecord:
    def find() -> RunRecord | None:
        found = latest(stack, project)
        return found if found is not None and check(found) else None

    try:
        return wait_until(find, timeout=timeout, interval=0.1, what=what)
    except TimeoutError:
        print(stack.log("worker")[-6000:])
        raise


def wait_done(stack: Stack, project: Project, timeout: float = 90) -> dict[str, Any]:
    """The run's check run once it completed (placeholders left out)."""

    def find() -> dict[str, Any] | None:
        runs = [r for r in check_runs(stack, project) if r.get("conclusion") != "action_required"]
        return runs[-1] if runs and runs[-1]["status"] == "completed" else None

    try:
        return wait_until(find, timeout=timeout, interval=0.1, what="the check run completed")
    except TimeoutError:
        print(stack.log("worker")[-8000:])
        raise


def wait_published(stack: Stack, project: Project, timeout: float = 60) -> None:
    """Until the run's report is all posted: its record completed and nothing of it still owed
    (`bot.state.owed_publishes`)."""
    client = redis.Redis.from_url(stack.redis.url, socket_timeout=15)

    def published() -> bool:
        found = latest(stack, project)
        if found is None or found.state != "completed":
            return False
        return not client.sismember("gp:owed", found.run_id)

    wait_until(published, timeout=timeout, interval=0.1, what="the report posted")


def check_runs(stack: Stack, project: Project) -> list[dict[str, Any]]:
    return stack.github.fake.check_runs(project.repo, head_sha=project.sha)


def second_pull(stack: Stack, project: Project, root: Path) -> Project:
    """Pull request #2 of the same repository, on a commit of its own."""
    git = ["git", "-C", str(project.path)]
    subprocess.run([*git, "checkout", "-q", "-b", "second"], check=True)
    (project.path / "SECOND").write_text("2")
    sha = commit_all(project.path, "second")
    subprocess.run([*git, "checkout", "-q", "main"], check=True)
    stack.github.fake.add_pull(
        project.repo, 2, head_sha=sha, head_ref="second", head_clone_url=str(project.path)
    )
    return Project(project.repo, 2, project.path, sha, root / f"{uuid.uuid4().hex}.pids")


def pids(project: Project) -> list[int]:
    text = project.pid_file.read_text() if project.pid_file.exists() else ""
    return [int(p) for p in text.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


def wait_exit(process: subprocess.Popen[bytes], seconds: float) -> bool:
    """True when `process` has ended (now or within `seconds`)."""
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def tried(stack: Stack, method: str, pattern: str, since: int = 0) -> int:
    regex = re.compile(pattern)
    log = stack.github.fake.request_log()[since:]
    return sum(r["method"] == method and bool(regex.search(r["path"])) for r in log)


# --- the checks every case makes -------------------------------------------------------------


def processes_in(workdir: Path, run_id: str = "") -> list[str]:
    """Processes whose working directory is inside the workdir's checkouts (a run's setup or
    tests), or inside `run_id`'s checkout only."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.startswith(f"{workdir}/checkouts/{run_id}"):
            found.append(f"pid {entry.name} in {cwd}")
    return found


def leftovers(stack: Stack, run_id: str) -> list[str]:
    workdir = Path(stack.env()["GOLDEN_PATH_WORKDIR"])
    return [
        str(workdir / folder / run_id)
        for folder in ("checkouts", "artifacts")
        if (workdir / folder / run_id).exists()
    ]


def check_nothing_lost(
    stack: Stack,
    project: Project,
    *,
    conclusion: str,
    says: str = "",
    restarted: bool | None = None,
) -> list[str]:
    """What the fault cost; empty when nothing was lost."""
    lost: list[str] = []
    runs = [r for r in check_runs(stack, project) if r.get("conclusion") != "action_required"]
    stuck = [r["id"] for r in runs if r["status"] != "completed"]
    if stuck:
        lost.append(f"check run(s) {stuck} left queued/in_progress")
    if len(runs) != 1:
        lost.append(f"{len(runs)} check runs instead of one")
    if runs and runs[-1].get("conclusion") != conclusion:
        lost.append(f"concluded {runs[-1].get('conclusion')} instead of {conclusion}")
    if runs and says and says not in (runs[-1]["output"].get("summary") or ""):
        lost.append(f"the check run does not say {says!r}")
    if runs and restarted is not None:
        titles = " ".join(
            (h["body"].get("output") or {}).get("title", "") for h in runs[-1]["history"]
        )
        if restarted != ("restarted: the worker running it was lost" in titles):
            lost.append("the restart was not shown" if restarted else "restarted for nothing")
    for run in runs:
        keys = Counter(
            (a.get("path"), a.get("start_line"), a.get("message")) for a in run["annotations"]
        )
        twice = [k for k, n in keys.items() if n > 1]
        if twice:
            lost.append(f"{len(twice)} duplicate annotation(s)")
    lost += duplicate_comments(stack, project)
    titles = Counter(
        i["title"] for i in stack.github.fake.issues(project.repo) if "pull_request" not in i
    )
    lost += [f"issue {t!r} opened {n} times" for t, n in titles.items() if n > 1]
    record_ = latest(stack, project)
    if record_ is not None:
        run_id = record_.run_id
        try:  # the record completes right after the check run's conclusion is accepted
            wait_until(
                lambda: records(stack).get(run_id).state == "completed", timeout=15, interval=0.1
            )
        except TimeoutError:
            lost.append(f"record left {records(stack).get(run_id).state}")
        try:
            wait_until(lambda: not leftovers(stack, record_.run_id), timeout=15, interval=0.2)
        except TimeoutError:
            lost.append(f"folders left: {leftovers(stack, record_.run_id)}")
        workdir = Path(stack.env()["GOLDEN_PATH_WORKDIR"])
        lost += [f"leftover process: {p}" for p in processes_in(workdir, record_.run_id)]
    lost += [f"leftover test process {p}" for p in pids(project) if alive(p)]
    return lost


def duplicate_comments(stack: Stack, project: Project) -> list[str]:
    login = stack.github.fake.bot_login
    bodies = [
        c["body"]
        for c in stack.github.fake.comments(project.repo, project.number)
        if c["user"]["login"] == login
    ]
    exact = Counter(bodies)
    doubled = [f"comment posted {n} times: {b[:40]!r}" for b, n in exact.items() if n > 1]
    markers = Counter(
        m for body in bodies for m in set(re.findall(r"<!-- golden-path:[^>]*-->", body))
    )
    return doubled + [f"comment {m} posted {n} times" for m, n in markers.items() if n > 1]


# --- a git that can be held inside `fetch`, to kill a worker during a checkout -------------------


def hold_git_script(fault_dir: Path) -> Path:
    """A `git` first on the workers' PATH: while `<fault_dir>/hold-git` exists, `git fetch`
    waits (at most a minute) and marks that it is waiting; otherwise it is git."""
    bin_dir = fault_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    real = subprocess.run(["which", "git"], capture_output=True, text=True, check=True).stdout
    script = bin_dir / "git"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/bash
            if [ "$1" = "fetch" ] && [ -e {fault_dir}/hold-git ]; then
              touch {fault_dir}/in-git
              for i in $(seq 600); do [ -e {fault_dir}/hold-git ] || break; sleep 0.1; done
            fi
            exec {real.strip()} "$@"
            """
        )
    )
    script.chmod(0o755)
    return bin_dir


def push(project: Project, stack: Stack, files: dict[str, str]) -> str:
    for name, text in files.items():
        (project.path / name).write_text(text)
    project.sha = commit_all(project.path, "push")
    stack.github.fake.set_head(project.repo, project.number, project.sha)
    return project.sha
