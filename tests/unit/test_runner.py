"""The runner against real pytest processes on tiny suites written into a temporary checkout."""

from __future__ import annotations

import json
import re
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.core.plan import Plan, parse_plan
from bot.core.results import Conclusion, PhaseStatus, RunReport
from bot.core.scrub import Scrubber
from workers.engine import executor, processes

SUITES = {
    "tests/test_pass.py": (
        "def test_a():\n    assert True\n\ndef test_b():\n    assert 1 + 1 == 2\n"
    ),
    "tests/test_fail.py": (
        "def test_a():\n    pass\n\ndef test_b():\n    pass\n\ndef test_c():\n    pass\n\n"
        "def test_d():\n    assert {'status': 500} == {'status': 200}\n"
    ),
    "tests/test_slow.py": "import time\n\ndef test_slow():\n    time.sleep(0.6)\n",
    "tests/test_hang.py": "import time\n\ndef test_hang():\n    time.sleep(600)\n",
    "tests/test_syntax.py": "def test_x(:\n    pass\n",
    "tests/test_exit.py": (
        "import pytest\n\ndef test_exit():\n    pytest.exit('staging is down', returncode=2)\n"
    ),
    "tests/test_empty.py": "",
    "tests/test_env.py": textwrap.dedent(
        """
        import json, os, pathlib

        def test_dump_env():
            pathlib.Path(os.environ["DUMP_TO"]).write_text(json.dumps(dict(os.environ)))
        """
    ),
}

SECRETS = {
    "GITHUB_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----abc",
    "GITHUB_WEBHOOK_SECRET": "whsec-123",
    "GITHUB_PRIVATE_KEY_PATH": "/etc/bot/key.pem",
    "REDIS_URL": "redis://:pw@redis:6379/0",
    "GITHUB_TOKEN": "ghs_installationtoken",
    "GH_TOKEN": "ghs_other",
    "AWS_SECRET_ACCESS_KEY": "not-in-the-plan",
}


def write_checkout(root: Path) -> Path:
    for rel, text in SUITES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def make_plan(phases: str, head: str = "fail_fast: false\n") -> Plan:
    return parse_plan(head + "phases:\n" + textwrap.indent(textwrap.dedent(phases), "  "))


def execute(root: Path, plan: Plan, selected: tuple[str, ...] | None = None, **kw) -> RunReport:
    env = kw.pop("env", None) or executor.build_env(
        plan, {"PATH": "/usr/bin:/bin", "HOME": str(root)}
    )
    return executor.execute(
        root,
        plan,
        selected or plan.phase_ids,
        env=env,
        artifacts=root / "artifacts",
        scrub=kw.pop("scrub", str),
        **kw,
    )


ONE_OF_EACH = """
- {id: passing, suites: [tests/test_pass.py]}
- {id: failing, suites: [tests/test_fail.py]}
- {id: slow, suites: [tests/test_slow.py], criteria: {max_p95_seconds: 0.3}}
- {id: collection, suites: [tests/test_syntax.py]}
- {id: interrupted, suites: [tests/test_exit.py]}
- {id: empty, suites: [tests/test_empty.py]}
- {id: missing, suites: [tests/test_nope.py]}
"""


@pytest.fixture(scope="module")
def one_of_each(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunReport, list[RunReport]]:
    root = write_checkout(tmp_path_factory.mktemp("checkout"))
    progress: list[RunReport] = []
    report = execute(root, make_plan(ONE_OF_EACH), on_progress=progress.append)
    return report, progress


@pytest.mark.parametrize(
    ("phase_id", "status", "counts", "reasons"),
    [
        ("passing", PhaseStatus.PASSED, (2, 0, 0), []),
        (
            "failing",
            PhaseStatus.FAILED,
            (3, 1, 0),
            ["pass rate 75.0% is below the required 100.0%"],
        ),
        ("slow", PhaseStatus.FAILED, (1, 0, 0), ["p95 0.6. s exceeds 0.30 s"]),
        (
            "collection",
            PhaseStatus.FAILED,
            (0, 0, 1),
            ["collection error in tests/test_syntax.py: .*SyntaxError.*"],
        ),
        (
            "interrupted",
            PhaseStatus.FAILED,
            (0, 0, 0),
            ["pytest was interrupted (exit code 2): _pytest.outcomes.Exit: staging is down"],
        ),
        ("empty", PhaseStatus.FAILED, (0, 0, 0), ["no tests ran"]),
        (
            "missing",
            PhaseStatus.FAILED,
            (0, 0, 0),
            [
                "pytest could not start (usage error) (exit code 4): "
                "ERROR: file or directory not found: tests/test_nope.py"
            ],
        ),
    ],
)
def test_each_kind_of_phase(
    one_of_each: tuple[RunReport, list[RunReport]],
    phase_id: str,
    status: PhaseStatus,
    counts: tuple[int, int, int],
    reasons: list[str],
) -> None:
    report, _ = one_of_each
    judged = next(p for p in report.phases if p.phase_id == phase_id)
    assert judged.status is status
    assert (judged.passed, judged.failed, judged.errors) == counts
    assert len(judged.reasons) == len(reasons)
    for got, want in zip(judged.reasons, reasons, strict=True):
        assert got == want or re.fullmatch(want, got), got


def test_failed_test_carries_file_line_and_message(
    one_of_each: tuple[RunReport, list[RunReport]],
) -> None:
    report, _ = one_of_each
    [failure] = next(p for p in report.phases if p.phase_id == "failing").failures
    assert failure.node_id == "tests/test_fail.py::test_d"
    assert (failure.file, failure.line) == ("tests/test_fail.py", 11)
    assert failure.message.startswith("AssertionError: assert {'status': 500} == {'status': 200}")


def test_run_conclusion_and_artifacts(one_of_each: tuple[RunReport, list[RunReport]]) -> None:
    report, _ = one_of_each
    assert report.conclusion is Conclusion.FAILURE
    assert report.check_name == "Golden Path P0"
    assert report.problem is None


def test_progress_shows_the_running_phase_and_the_pending_ones(
    one_of_each: tuple[RunReport, list[RunReport]],
) -> None:
    _, progress = one_of_each
    assert len(progress) == 14  # each of 7 phases starts and finishes
    first = progress[0]
    assert first.conclusion is None
    assert [p.status for p in first.phases] == [PhaseStatus.RUNNING] + [PhaseStatus.PENDING] * 6
    assert progress[0].current_phase is not None
    assert progress[0].current_phase.phase_id == "passing"
    assert progress[1].phases[0].status is PhaseStatus.PASSED
    assert progress[2].current_phase is not None
    assert progress[2].current_phase.phase_id == "failing"


def test_fail_fast_leaves_later_phases_not_run(tmp_path: Path) -> None:
    root = write_checkout(tmp_path)
    plan = make_plan(
        """
        - {id: one, suites: [tests/test_pass.py]}
        - {id: two, suites: [tests/test_fail.py]}
        - {id: three, suites: [tests/test_pass.py]}
        """,
        head="fail_fast: true\n",
    )
    report = execute(root, plan)
    assert [p.status for p in report.phases] == [
        PhaseStatus.PASSED,
        PhaseStatus.FAILED,
        PhaseStatus.NOT_RUN,
    ]
    assert "fail_fast" in report.phases[2].reasons[0]
    assert report.conclusion is Conclusion.FAILURE


def test_selection_runs_only_the_named_phases(tmp_path: Path) -> None:
    root = write_checkout(tmp_path)
    plan = make_plan(
        """
        - {id: one, suites: [tests/test_fail.py]}
        - {id: two, suites: [tests/test_pass.py]}
        """
    )
    report = execute(root, plan, ("two",))
    assert [p.status for p in report.phases] == [PhaseStatus.NOT_SELECTED, PhaseStatus.PASSED]
    assert report.conclusion is Conclusion.SUCCESS
    assert (root / "artifacts" / "output" / "junit-two.xml").exists()
    assert not (root / "artifacts" / "output" / "junit-one.xml").exists()


def test_phase_timeout_kills_the_hanging_test(tmp_path: Path) -> None:
    root = write_checkout(tmp_path)
    plan = make_plan("- {id: hang, suites: [tests/test_hang.py], timeout_minutes: 0.03}\n")
    started = time.monotonic()
    report = execute(root, plan)
    assert time.monotonic() - started < 8
    [hang] = report.phases
    assert hang.status is PhaseStatus.TIMED_OUT
    assert hang.reasons[0] == "timed out after 1.8 s"
    assert report.conclusion is Conclusion.FAILURE


def test_run_deadline_concludes_timed_out(tmp_path: Path) -> None:
    root = write_checkout(tmp_path)
    plan = make_plan(
        """
        - {id: hang, suites: [tests/test_hang.py]}
        - {id: later, suites: [tests/test_pass.py]}
        """
    )
    started = time.monotonic()
    report = execute(root, plan, deadline=started + 1.5)
    assert time.monotonic() - started < 8
    assert report.conclusion is Conclusion.TIMED_OUT
    assert [p.status for p in report.phases] == [PhaseStatus.TIMED_OUT, PhaseStatus.NOT_RUN]
    assert report.problem == "the run's timeout was reached during phase 'hang'"


def test_should_stop_kills_a_hanging_test_quickly(tmp_path: Path) -> None:
    root = write_checkout(tmp_path)
    plan = make_plan(
        """
        - {id: hang, suites: [tests/test_hang.py]}
        - {id: later, suites: [tests/test_pass.py]}
        """
    )
    stop_at = time.monotonic() + 1.0
    reason = "superseded by 1a2b3c4"

    def should_stop() -> str | None:
        return reason if time.monotonic() >= stop_at else None

    report = execute(root, plan, should_stop=should_stop)
    assert time.monotonic() - stop_at < 3
    assert report.conclusion is Conclusion.CANCELLED
    assert report.problem == reason
    assert [p.status for p in report.phases] == [PhaseStatus.NOT_RUN, PhaseStatus.NOT_RUN]


SETUP_HEAD = """fail_fast: false
setup:
  - {name: Write marker, run: "echo ready > marker.txt"}
  - {name: Deploy to staging, run: "echo deploying; echo 'connection refused' >&2; exit 3"}
"""


def test_failing_setup_step_fails_the_run(tmp_path: Path) -> None:
    root = write_checkout(tmp_path)
    plan = make_plan("- {id: one, suites: [tests/test_pass.py]}\n", head=SETUP_HEAD)
    report = execute(root, plan)
    assert (root / "marker.txt").read_text() == "ready\n"
    assert report.conclusion is Conclusion.FAILURE
    assert (
        report.problem == "setup step 'Deploy to staging' failed: exit code 3: connection refused"
    )
    assert [s.ok for s in report.setup] == [True, False]
    assert report.setup[1].exit_code == 3
    assert "deploying" in report.setup[1].output_tail
    assert report.phases[0].status is PhaseStatus.NOT_RUN


def test_plan_python_is_used(tmp_path: Path) -> None:
    root = write_checkout(tmp_path)
    plan = make_plan(
        "- {id: one, suites: [tests/test_pass.py]}\n", head="python: /nonexistent/python\n"
    )
    report = execute(root, plan)
    assert report.phases[0].status is PhaseStatus.FAILED
    assert report.phases[0].reasons == (
        "could not start pytest: [Errno 2] No such file or directory: '/nonexistent/python'",
    )


@pytest.fixture(scope="module")
def child_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = write_checkout(tmp_path_factory.mktemp("envcheck"))
    dump = root / "env.json"
    plan = parse_plan(
        f"env: {{DUMP_TO: '{dump}', STAGING_URL: 'http://127.0.0.1:1'}}\n"
        "pass_env: [E2E_KEY, NOT_SET_ANYWHERE]\n"
        "phases: [{id: env, suites: [tests/test_env.py]}]\n"
    )
    worker_env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "E2E_KEY": "e2e-secret", **SECRETS}
    env = executor.build_env(plan, worker_env)
    report = execute(root, plan, env=env)
    assert report.conclusion is Conclusion.SUCCESS, report
    return json.loads(dump.read_text())


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_child_never_sees_the_bots_secrets(child_env: dict[str, str], name: str) -> None:
    assert name not in child_env
    assert SECRETS[name] not in json.dumps(child_env)


def test_child_sees_plan_env_and_pass_env(child_env: dict[str, str]) -> None:
    assert child_env["STAGING_URL"] == "http://127.0.0.1:1"
    assert child_env["E2E_KEY"] == "e2e-secret"
    assert "NOT_SET_ANYWHERE" not in child_env
    assert child_env["PYTHONDONTWRITEBYTECODE"] == "1"


def test_build_env_refuses_secrets_even_if_named() -> None:
    # A plan object built in code skips the parser's checks; build_env must still refuse.
    parsed = parse_plan("phases: [{id: a, suites: [x]}]\n")
    sneaky = parsed.model_copy(
        update={"env": {"REDIS_URL": "redis://evil"}, "pass_env": ("GITHUB_PRIVATE_KEY", "E2E")}
    )
    env = executor.build_env(sneaky, {**SECRETS, "PATH": "/bin", "E2E": "v", "OTHER": "x"})
    assert env["E2E"] == "v"
    assert not set(env) & {*SECRETS, "OTHER"}


def test_missing_pass_env_and_secret_values() -> None:
    parsed = parse_plan("pass_env: [A, B, C]\nphases: [{id: a, suites: [x]}]\n")
    worker = {"A": "alpha", "C": "", "PATH": "/bin"}
    assert executor.missing_pass_env(parsed, worker) == ["B"]
    assert executor.secret_values(parsed, worker) == ["alpha"]


def test_process_output_is_bounded_keeping_head_and_tail(tmp_path: Path) -> None:
    script = (
        "import sys\nprint('FIRST')\nsys.stdout.write('x' * 3_000_000)\nprint()\nprint('LAST')\n"
    )
    outcome = processes.supervise(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        timeout_seconds=20,
        log_path=tmp_path / "out.log",
    )
    assert outcome.exit_code == 0 and outcome.ok
    log = (tmp_path / "out.log").read_bytes()
    assert len(log) <= 1024 * 1024 + 100
    assert log.startswith(b"FIRST") and log.rstrip().endswith(b"LAST")
    assert b"bytes of output omitted" in log
    assert outcome.output_tail.rstrip().endswith("LAST")


def test_process_group_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    command = f"sleep 600 & echo $! > {pid_file}; wait"
    outcome = processes.supervise(
        command,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        timeout_seconds=0.5,
        log_path=tmp_path / "out.log",
        poll_seconds=0.1,
    )
    assert outcome.timed_out and not outcome.ok
    child = int(pid_file.read_text())
    time.sleep(0.2)
    assert (
        not Path(f"/proc/{child}").exists()
        or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
    )


LEAKED = "sk_live_51HqLyjWDarjtT1zdp7dcXYZ0123"


def test_setup_output_is_scrubbed_before_its_last_line_is_cut(tmp_path: Path) -> None:
    """Issue 9: a setup step's last output line reached the summary as `sk\\_live\\_51Hq...`."""
    root = write_checkout(tmp_path)
    head = (
        'setup:\n  - {name: Deploy, run: \'echo "$KEY" | base64; '
        'printf "%0190d key=%s\\n" 0 "$KEY"; exit 1\'}\n'
    )
    plan = make_plan("- {id: one, suites: [tests/test_pass.py]}\n", head=head)
    env = {**executor.build_env(plan, {"PATH": "/usr/bin:/bin"}), "KEY": LEAKED}
    report = execute(root, plan, env=env, scrub=Scrubber([LEAKED]))
    step = report.setup[0]
    for text in (step.reason, step.output_tail, report.problem or ""):
        assert not any(LEAKED[i : i + 8] in text for i in range(len(LEAKED) - 7)), text
    assert step.reason.endswith("key=***")


@pytest.mark.parametrize(
    "plant",
    [
        "os.symlink('/dev/zero', path)",
        "os.symlink(os.path.expanduser('~/.bashrc'), path)",
        "open(path, 'wb').truncate(1024 * 1024 * 1024)",
    ],
)
def test_planted_reports_are_never_followed_nor_read_whole(tmp_path: Path, plant: str) -> None:
    """Issue 9: JUnit files were read whole (80 MiB cost +120 MiB); one could be a symlink to
    /dev/zero or to a file only the worker may read. The tests replace both of pytest's reports
    once it has written them: the phase fails, having read nothing through a link and at most
    the capped tail of a file."""
    root = write_checkout(tmp_path)
    (root / "tests/test_plant.py").write_text("def test_plant():\n    assert True\n")
    (root / "conftest.py").write_text(  # runs after pytest has written its reports
        "import os, sys\n\n"
        "def pytest_unconfigure(config):\n"
        "    stream = next(a.split('=', 1)[1] for a in sys.argv\n"
        "                  if a.startswith('--golden-path-stream='))\n"
        "    for path in (config.option.xmlpath, stream):\n"
        "        if path and os.path.exists(path):\n"
        "            os.unlink(path)\n"
        f"            {plant}\n"
    )
    plan = make_plan("- {id: one, suites: [tests/test_plant.py]}\n")
    report = execute(root, plan)
    [phase] = report.phases
    assert phase.status is PhaseStatus.FAILED
    assert phase.passed == 0 and not phase.tests
