"""`golden-path`: run a plan in a local checkout as the worker would, or validate a plan file."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bot.core.plan import PLAN_PATH, Plan, PlanError, UnknownPhases, parse_plan
from bot.core.report.check_output import render_check_output
from bot.core.report.facts import (
    at_risk_dollars,
    attempts_text,
    failure_patterns,
    results_words,
)
from bot.core.report.five_whys import render_five_whys_issue
from bot.core.report.pr_comment import render_pr_comment
from bot.core.results import Conclusion, Outcome, PhaseStatus, PhaseVerdict, RunReport
from bot.core.scrub import Scrubber
from workers.engine import executor, sandbox

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PROCEED = "Proceed with production deployment: every selected phase met its criteria."
HOLD = "HOLD production deployment"

_STATUS_STYLE = {
    PhaseStatus.PASSED: ("passed", "green"),
    PhaseStatus.FAILED: ("FAILED", "bold red"),
    PhaseStatus.TIMED_OUT: ("TIMED OUT", "bold red"),
    PhaseStatus.NOT_RUN: ("not run", "yellow"),
    PhaseStatus.NOT_SELECTED: ("not selected", "dim"),
    PhaseStatus.PENDING: ("pending", "dim"),
    PhaseStatus.RUNNING: ("running…", "bold cyan"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 too; say so explicitly
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="golden-path", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("run", help="run the plan in a local checkout")
    run.add_argument("--plan", type=Path, help="plan file (default: DIR/.github/golden-path.yml)")
    run.add_argument("--phase", action="append", default=[], metavar="ID", help="run only ID")
    run.add_argument("--dir", type=Path, default=Path("."), help="the checkout (default: .)")
    run.add_argument("--out", type=Path, help="write the markdown the bot would post here")
    run.add_argument(
        "--sandbox",
        action="store_true",
        help="isolate setup and tests with bubblewrap as the bot does (default: your own code "
        "runs unsandboxed)",
    )
    history = commands.add_parser(
        "history", help="a repository's flakiest tests and most frequent failure patterns"
    )
    history.add_argument("repo", help="owner/name")
    history.add_argument("--limit", type=int, default=10, help="rows per list (default: 10)")
    validate = commands.add_parser("validate", help="check a plan file")
    validate.add_argument("file", nargs="?", type=Path, default=Path(PLAN_PATH))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(highlight=False)
    if not console.is_terminal:  # a pipe or a file: never crop the table to 80 columns
        console = Console(highlight=False, width=max(console.width, 200))
    if args.command == "validate":
        return validate(args.file, console)
    if args.command == "history":
        return show_history(args.repo, args.limit, console)
    return run_locally(args, console)


def _say(console: Console, line: str) -> None:
    """A plain line (file: key: reason) that must stay whole for grep and editors."""
    console.print(line, markup=False, soft_wrap=True)


# --- validate -----------------------------------------------------------------------------


def _load(path: Path, console: Console) -> Plan | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        _say(console, f"{path}: (file): cannot read: {exc.strerror or exc}")
        return None
    try:
        return parse_plan(text, str(path))
    except PlanError as exc:
        for problem in exc.problems:
            _say(console, str(problem))
        return None


def validate(path: Path, console: Console) -> int:
    plan = _load(path, console)
    if plan is None:
        return EXIT_USAGE
    _say(console, f"{path}: ok: {len(plan.phases)} phase(s): {', '.join(plan.phase_ids)}")
    return EXIT_OK


# --- history ------------------------------------------------------------------------------


def show_history(repo: str, limit: int, console: Console) -> int:
    """What the bot remembers of `repo` (REDIS_URL, as the bot's own processes read it)."""
    import redis

    from bot.settings import get_settings
    from bot.state.history import History

    settings = get_settings()
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2)
    store = History(client, max_age_days=settings.history_days)
    try:
        flaky, patterns = store.flakiest(repo, limit), store.frequent_patterns(repo, limit)
    except redis.RedisError as exc:
        _say(console, f"golden-path: cannot read history from Redis: {type(exc).__name__}")
        return EXIT_USAGE
    for title, rows, what in (
        (f"Flakiest tests of {repo}", flaky, "flaky runs"),
        (f"Most frequent failure patterns of {repo}", patterns, "failing runs"),
    ):
        table = Table(title=title, title_justify="left")
        table.add_column(what, justify="right")
        table.add_column("test" if "tests" in title else "pattern")
        for name, count in rows:
            table.add_row(str(count), Text(name))
        console.print(table if rows else Text(f"{title}: none recorded", style="dim"))
    return EXIT_OK


# --- run ----------------------------------------------------------------------------------


def run_locally(args: argparse.Namespace, console: Console) -> int:
    checkout = args.dir.resolve()
    plan_path = args.plan or checkout / PLAN_PATH
    plan = _load(plan_path, console)
    if plan is None:
        return EXIT_USAGE
    try:
        selected = plan.select(args.phase)
    except UnknownPhases as exc:
        _say(console, f"golden-path: {exc}")
        return EXIT_USAGE
    for name in executor.missing_pass_env(plan, os.environ):
        console.print(f"[yellow]note:[/] pass_env {name} is not set here; tests will not see it")
    out = args.out.resolve() if args.out else None  # a relative --out means from here
    report = _execute(plan, selected, checkout, out, console, sandboxed=args.sandbox)
    console.print(results_table(report))
    console.print(_footer(report))
    if out:
        _write_markdown(report, out, console)
    return EXIT_OK if report.conclusion is Conclusion.SUCCESS else EXIT_FAILED


def _execute(
    plan: Plan,
    selected: tuple[str, ...],
    checkout: Path,
    out: Path | None,
    console: Console,
    *,
    sandboxed: bool = False,
) -> RunReport:
    artifacts = (out / "artifacts") if out else Path(tempfile.mkdtemp(prefix="golden-path-"))
    view = _LiveView(plan)
    with (
        _stop_on_interrupt() as stop,
        Live(view, console=console, refresh_per_second=4, transient=True),
    ):
        report = executor.execute(
            checkout,
            plan,
            selected,
            env=executor.build_env(plan, os.environ),
            artifacts=artifacts,
            scrub=Scrubber(executor.secret_values(plan, os.environ)),
            on_progress=view.update,
            should_stop=stop,
            deadline=time.monotonic() + plan.timeout_minutes * 60,
            isolation=sandbox.sandboxed if sandboxed else executor.unsandboxed,
            report_fields={"sandboxed": sandboxed},
        )
    console.print(f"[dim]artifacts (junit, logs): {artifacts}[/]")
    return report


@contextmanager
def _stop_on_interrupt() -> Iterator[Any]:
    """Ctrl-C asks the runner to stop (it kills the test process group), instead of unwinding
    past it and leaving pytest running."""
    asked: list[str] = []

    def on_sigint(signum: int, frame: Any) -> None:
        asked.append("interrupted by the user (Ctrl-C)")

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield lambda: asked[0] if asked else None
    finally:
        signal.signal(signal.SIGINT, previous)


class _LiveView:
    """What `rich.live.Live` redraws: the table so far and the running phase's clock."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.report: RunReport | None = None
        self.phase_started = time.monotonic()
        self.started = time.monotonic()

    def update(self, report: RunReport) -> None:
        if report.current_phase and report.current_phase != (
            self.report and self.report.current_phase
        ):
            self.phase_started = time.monotonic()
        self.report = report

    def __rich__(self) -> Group:
        if self.report is None:
            return Group(Text(f"setting up… {time.monotonic() - self.started:.0f} s", style="cyan"))
        current = self.report.current_phase
        status = (
            f"running {current.name} ({current.phase_id}) "
            f"for {time.monotonic() - self.phase_started:.0f} s"
            if current
            else "between phases"
        )
        return Group(results_table(self.report), Text(status, style="cyan"))


# --- output -------------------------------------------------------------------------------


def results_table(report: RunReport) -> Table:
    table = Table(title=report.check_name, title_justify="left")
    table.add_column("Phase", min_width=12)
    table.add_column("Passed", no_wrap=True)
    table.add_column("Results")
    for column in ("Pass rate", "p95", "Duration"):
        table.add_column(column, no_wrap=True)
    table.add_column("Status")
    table.add_column("MRR at risk", justify="right")
    for phase in report.phases:
        label, style = _STATUS_STYLE[phase.status]
        table.add_row(
            Text.assemble(
                (phase.phase_id, "bold"), f" {phase.name}" * (phase.name != phase.phase_id)
            ),
            f"{phase.passed}/{phase.total}" if _ran(phase) else "-",
            results_words(phase) if _ran(phase) else "-",
            f"{phase.pass_rate:.1%}" if phase.pass_rate is not None else "-",
            f"{phase.p95_seconds:.2f} s" if phase.p95_seconds is not None else "-",
            f"{phase.duration_seconds:.1f} s" if phase.duration_seconds else "-",
            Text(label, style=style),
            "-" if (dollars := at_risk_dollars(phase)) is None else f"${dollars:,}",
        )
    return table


def _ran(phase: PhaseVerdict) -> bool:
    return phase.status not in (PhaseStatus.NOT_RUN, PhaseStatus.NOT_SELECTED, PhaseStatus.PENDING)


def _footer(report: RunReport) -> Group:
    lines: list[Text] = []
    if report.problem:
        lines.append(Text(f"Run stopped: {report.problem}", style="bold red"))
    for step in report.setup:
        if not step.ok and step.output_tail:
            lines.append(Text(f"setup '{step.name}' output (tail):\n{step.output_tail[-1500:]}"))
    for phase in report.phases:
        for reason in phase.reasons if phase.status is not PhaseStatus.PASSED else ():
            lines.append(Text(f"{phase.phase_id}: {reason}", style="red"))
        for failure in phase.failures[:10]:
            where = f"{failure.file}:{failure.line}" if failure.file else failure.node_id
            lines.append(Text(f"  ✗ {failure.node_id} ({where}): {failure.message}"))
    for phase in report.phases:
        for test in phase.flaky_tests:
            counted = "passed" if test.outcome is Outcome.PASSED else "failed"
            lines.append(
                Text(f"  ~ flaky {test.node_id}: {attempts_text(test)} (counted as {counted})")
            )
    lines.append(Text(f"Total MRR at risk: ${report.mrr_at_risk:,}", style="bold"))
    conclusion = report.conclusion.value if report.conclusion else "unknown"
    if report.conclusion is Conclusion.SUCCESS:
        lines.append(Text(f"✅ {PROCEED}", style="bold green"))
    else:
        lines.append(Text(f"🛑 {HOLD} (conclusion: {conclusion})", style="bold red"))
    return Group(*lines)


def _write_markdown(report: RunReport, out: Path, console: Console) -> None:
    out.mkdir(parents=True, exist_ok=True)
    output = render_check_output(report)
    summary = f"# {output.title}\n\n{output.summary}\n\n{output.text or ''}".rstrip() + "\n"
    (out / "check_summary.md").write_text(summary, encoding="utf-8")
    (out / "pr_comment.md").write_text(render_pr_comment(report, {}), encoding="utf-8")
    written = [out / "check_summary.md", out / "pr_comment.md"]
    for index, pattern in enumerate(failure_patterns(report), start=1):
        title, body = render_five_whys_issue(pattern, report)
        path = out / f"five_whys_{index}.md"
        path.write_text(f"# {title}\n\n{body}", encoding="utf-8")
        written.append(path)
    _say(console, "wrote " + ", ".join(str(p) for p in written))


if __name__ == "__main__":
    sys.exit(main())
