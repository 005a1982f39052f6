"""The demo: the whole bot on this machine, driven by a signed `/golden-path run` comment.

Starts redis-server, the fake GitHub, and the Procfile's `web`, `worker` and `beat`; turns the
bundled example (`examples/staging-demo`) into a git repository with an open pull request; posts
GitHub's own `issue_comment` example payload, retargeted and signed; then prints what appeared on
the sandbox's "GitHub": the check run and its summary, the PR comment, five-whys issues.

    python -m sandbox.demo                 # one phase broken (websocket), as a failing gate looks
    python -m sandbox.demo --break none    # everything passes
    python -m sandbox.demo --deploy        # a deployment to production: rejected, then approved

With `--deploy` the plan gates `production` and keeps a tracking issue; a workflow's deployment of
the broken commit asks the bot (a signed `deployment_protection_rule` delivery), which runs the
golden path on it and rejects; a fix is pushed (the plan stops passing the break switch to the
service) and the deployment of the new commit is approved. Both answers, as GitHub received
them at the callback endpoint, and the tracking issue are printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel

from sandbox import webhooks
from sandbox.github_server import FakeGitHub
from sandbox.stack import ROOT, Stack, commit_all, git_repo_from, wait_until

EXAMPLE = ROOT / "examples" / "staging-demo"
REPO = "octo-org/staging-demo"
PR_NUMBER = 7


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--break",
        dest="broken",
        default="websocket",
        help="phase id whose staging behaviour breaks, or 'none'",
    )
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument(
        "--runs", type=int, default=1, help="comment `/golden-path run` this many times (history)"
    )
    parser.add_argument("--raw", type=Path, help="also write the raw Markdown posted into DIR")
    parser.add_argument(
        "--deploy",
        action="store_true",
        help="show the deployment gate: a rejected, then an approved deployment to production",
    )
    args = parser.parse_args(argv)
    console = Console(width=120)
    if args.deploy and args.broken == "none":
        parser.error("--deploy shows a broken commit being rejected: it needs a broken phase")
    # the example's plan asks for GOLDEN_PATH_DEMO_BREAK with pass_env: the operator allows it
    extra_env = {"GOLDEN_PATH_SECRETS": "GOLDEN_PATH_DEMO_BREAK"}
    if args.broken != "none":
        extra_env["GOLDEN_PATH_DEMO_BREAK"] = f"break:{args.broken}:demo"
    stack = Stack(processes=("web", "worker", "beat"), extra_env=extra_env)
    try:
        with console.status("starting redis-server, fake GitHub, web, worker, beat..."):
            stack.start()
        console.print(
            f"[bold]web[/] {stack.web_url}   [bold]fake GitHub[/] {stack.github.url}   "
            f"[bold]redis[/] {stack.redis.url}   logs in {stack.workdir}"
        )
        sha = git_repo_from(EXAMPLE, stack.workdir / "repo")
        fake = stack.github.fake
        fake.add_repo(REPO, clone_url=str(stack.workdir / "repo"))
        fake.add_pull(
            REPO,
            PR_NUMBER,
            head_sha=sha,
            head_ref="fix-login",
            head_clone_url=str(stack.workdir / "repo"),
            body="Harden token refresh.\n\nFixes #3",
        )
        fake.add_issue(REPO, 3, title="Token refresh drops sessions", body="Seen on staging.")
        fake.set_permission(REPO, "octocat", "write")
        if args.deploy:
            return _deploy(console, stack, stack.workdir / "repo", args.timeout)
        for attempt in range(1, max(1, args.runs) + 1):
            started = time.monotonic()
            answer = stack.comment(REPO, PR_NUMBER, "/golden-path run")
            console.print(f"POST /webhook (issue_comment, signed) -> [bold]{answer.status_code}[/]")
            check = wait_until(
                partial(_completed_check, stack, sha, attempt),
                timeout=args.timeout,
                interval=0.5,
                what="the completed check run",
            )
            console.print(f"check run completed in {time.monotonic() - started:.1f} s")
            wait_until(
                partial(_comment_for_run, stack, attempt),
                timeout=60,
                interval=0.5,
                what="the PR comment of this run",
            )
        # The check run is concluded first (it gates the merge); the comments follow it.
        wait_until(
            lambda: fake.labels_of(REPO, 3),
            timeout=60,
            interval=0.5,
            what="the linked issue's label",
        )
        _show(console, stack, check)
        if args.raw:
            _write_raw(args.raw, stack, check)
            console.print(f"raw Markdown written to {args.raw}")
        return 0 if check["conclusion"] in ("success", "failure") else 1
    except Exception as error:  # noqa: BLE001 - show the logs that explain it
        console.print(f"[red]demo failed:[/] {error}")
        for name in ("web", "worker", "beat"):
            console.print(Panel(stack.log(name)[-3000:], title=f"{name}.log (tail)"))
        return 1
    finally:
        stack.stop()


GATED_PLAN = "\n# --deploy: production deployments wait for the golden path\n" + (
    "deployments: [production]\ntracking_issue: true\n"
)


def _deploy(console: Console, stack: Stack, repo: Path, timeout: float) -> int:
    """A deployment of the broken commit (rejected), then of the fixed one (approved)."""
    fake = stack.github.fake
    plan = repo / ".github" / "golden-path.yml"
    plan.write_text(plan.read_text() + GATED_PLAN)
    shown: list[dict[str, Any]] = []
    for workflow_run, note in ((101, "the broken commit"), (102, "the fixed commit")):
        if workflow_run == 102:
            # The fix: the plan stops handing the service its break switch.
            plan.write_text(plan.read_text().replace("pass_env: [GOLDEN_PATH_DEMO_BREAK]", ""))
        sha = commit_all(repo, f"deploy demo: {note}")
        fake.set_head(REPO, PR_NUMBER, sha)
        payload = webhooks.deployment_gate_event(
            REPO,
            sha=sha,
            environment="production",
            workflow_run_id=workflow_run,
            installation_id=stack.installation_id,
            base_url=stack.github.url,
        )
        reply = stack.deliver("deployment_protection_rule", payload)
        console.print(
            f"deployment of {note} {sha[:7]} to production: POST /webhook "
            f"(deployment_protection_rule, signed) -> [bold]{reply.status_code}[/]"
        )
        answer: dict[str, Any] = _found(
            wait_until(
                partial(_answer, fake, workflow_run),
                timeout=timeout,
                interval=0.5,
                what=f"the answer to workflow run {workflow_run}",
            )
        )
        shown.append(answer)
        colour = "green" if answer["state"] == "approved" else "red"
        console.rule(f"answer to workflow run {workflow_run}: [{colour}]{answer['state']}[/]")
        console.print(escape(answer["comment"]))
    issue: dict[str, Any] = _found(
        wait_until(
            lambda: _tracking_issue(fake.issues(REPO), 2),
            timeout=60,
            interval=0.5,
            what="the tracking issue",
        )
    )
    console.rule(escape(f"issue #{issue['number']}: {issue['title']}"))
    console.print(Markdown(issue["body"][:4000]))
    return 0 if [a["state"] for a in shown] == ["rejected", "approved"] else 1


def _answer(fake: FakeGitHub, workflow_run: int) -> dict[str, Any] | None:
    return next((a for a in fake.deployment_answers(REPO) if a["run_id"] == workflow_run), None)


def _found(value: dict[str, Any] | None) -> dict[str, Any]:
    if value is None:  # wait_until returns only a truthy value or raises
        raise TimeoutError("nothing found")
    return value


def _tracking_issue(issues: list[dict[str, Any]], runs: int) -> dict[str, Any] | None:
    for issue in issues:
        logged = (issue.get("body") or "").split("### Last runs", 1)[-1].count("\n- ")
        if issue["title"].startswith("Golden path: ") and logged >= runs:
            return issue
    return None


def _completed_check(stack: Stack, sha: str, count: int = 1) -> dict[str, Any] | None:
    runs = [
        r
        for r in stack.github.fake.check_runs(REPO, head_sha=sha)
        if r["status"] == "completed" and r["conclusion"] != "action_required"
    ]
    return runs[-1] if len(runs) >= count else None


def _comment_for_run(stack: Stack, count: int) -> bool:
    """The sticky comment shows this run (its history table counts it)."""
    bodies = [c["body"] for c in stack.github.fake.comments(REPO, PR_NUMBER)]
    return any(f"Runs of this pull request ({count})" in b for b in bodies)


def _write_raw(folder: Path, stack: Stack, check: dict[str, Any]) -> None:
    fake = stack.github.fake
    folder.mkdir(parents=True, exist_ok=True)
    output = check.get("output") or {}
    (folder / "check_run.md").write_text(
        f"# {output.get('title')}\n\n{output.get('summary')}\n\n{output.get('text') or ''}"
    )
    for comment in fake.comments(REPO, PR_NUMBER):
        (folder / f"pr_comment_{comment['id']}.md").write_text(comment["body"])
    for issue in fake.issues(REPO):
        if not issue.get("pull_request") and issue["title"].startswith("Five whys"):
            (folder / f"issue_{issue['number']}.md").write_text(
                f"# {issue['title']}\n\n{issue.get('body') or ''}"
            )


def _show(console: Console, stack: Stack, check: dict[str, Any]) -> None:
    fake = stack.github.fake
    output = check.get("output") or {}
    console.rule(f"check run [bold]{escape(check['name'])}[/]: {check['conclusion']}")
    console.print(f"[bold]{output.get('title')}[/]")
    console.print(Markdown(output.get("summary") or ""))
    console.print(f"annotations: {len(check.get('annotations', []))}")
    for comment in fake.comments(REPO, PR_NUMBER):
        console.rule(f"PR #{PR_NUMBER} comment by {comment['user']['login']}")
        console.print(Markdown(comment["body"]))
    for issue in fake.issues(REPO):
        if issue.get("pull_request"):
            continue
        labels = ", ".join(label["name"] for label in issue.get("labels", []))
        console.rule(escape(f"issue #{issue['number']}: {issue['title']}  [{labels}]"))
        if issue.get("body"):
            console.print(Markdown(issue["body"][:2500]))
        for comment in fake.comments(REPO, issue["number"]):
            console.print(Markdown(comment["body"][:1500]))


if __name__ == "__main__":
    sys.exit(main())
