"""`golden-path run` and `golden-path validate`: output and exit codes (contract §7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workers import cli

PLAN = """
fail_fast: false
phases:
  - {id: good, name: Good phase, mrr_at_risk: 1000, suites: [tests/test_good.py]}
  - {id: bad, name: Bad phase, mrr_at_risk: 2500, suites: [tests/test_bad.py]}
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "golden-path.yml").write_text(PLAN)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_good.py").write_text("def test_ok():\n    assert True\n")
    (tmp_path / "tests" / "test_bad.py").write_text(
        "def test_broken():\n    assert 'HTTP 500' == 'HTTP 200'\n"
    )
    return tmp_path


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_validate_ok(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "validate", str(checkout / ".github" / "golden-path.yml"))
    assert code == 0
    assert "ok: 2 phase(s): good, bad" in out


def test_validate_prints_each_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.yml"
    plan.write_text("fail_fast: 3\nphases: [{id: a, suites: []}]\n")
    code, out = run_cli(capsys, "validate", str(plan))
    assert code == 2
    assert f"{plan}: fail_fast: Input should be a valid boolean (got 3)" in out
    assert f"{plan}: phases[0].suites: must not be empty" in out


def test_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "validate", str(tmp_path / "nope.yml"))
    assert code == 2
    assert "cannot read" in out


@pytest.mark.parametrize("argv", [[], ["bogus"], ["run", "--unknown-flag"], ["validate", "a", "b"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2


def test_run_unknown_phase_exits_2(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "run", "--dir", str(checkout), "--phase", "nope")
    assert code == 2
    assert "unknown phase id(s): nope; the plan has: good, bad" in out


def test_run_with_bad_plan_exits_2(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (checkout / ".github" / "golden-path.yml").write_text("phases: []\n")
    code, out = run_cli(capsys, "run", "--dir", str(checkout))
    assert code == 2
    assert "phases: must not be empty" in out


def test_run_failing_phase_exits_1_and_holds(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(capsys, "run", "--dir", str(checkout))
    assert code == 1
    assert "HOLD production deployment" in out
    assert "Total MRR at risk: $2,500" in out
    assert "bad: pass rate 0.0% is below the required 100.0%" in out
    assert "tests/test_bad.py::test_broken" in out


def test_run_selected_passing_phase_exits_0(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(capsys, "run", "--dir", str(checkout), "--phase", "good")
    assert code == 0
    assert "Proceed with production deployment" in out
    assert "not selected" in out


def test_run_with_explicit_plan_file(
    checkout: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path_factory.mktemp("plans") / "only-good.yml"
    other.write_text("phases: [{id: good, suites: [tests/test_good.py]}]\n")
    code, _ = run_cli(capsys, "run", "--dir", str(checkout), "--plan", str(other))
    assert code == 0


def test_run_out_writes_the_markdown_the_bot_would_post(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("bot.core.report")
    out_dir = checkout / "out"
    code, _ = run_cli(capsys, "run", "--dir", str(checkout), "--out", str(out_dir))
    assert code == 1
    summary = (out_dir / "check_summary.md").read_text()
    comment = (out_dir / "pr_comment.md").read_text()
    assert "HOLD production deployment" in summary
    assert "Bad phase" in summary and "Bad phase" in comment
    assert (out_dir / "artifacts" / "output" / "junit-bad.xml").exists()


def test_installed_script_exit_code(checkout: Path) -> None:
    script = Path(sys.executable).parent / "golden-path"
    if not script.exists():
        pytest.skip("the golden-path script is not installed (pip install -e .)")
    done = subprocess.run(
        [str(script), "validate"],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_table_is_whole_when_not_a_terminal_and_mrr_matches_the_markdown(
    checkout: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS")
    out_dir = checkout / "out"
    code, out = run_cli(capsys, "run", "--dir", str(checkout), "--out", str(out_dir))
    assert code == 1
    [good_row] = [ln for ln in out.splitlines() if "Good phase" in ln]
    [bad_row] = [ln for ln in out.splitlines() if "Bad phase" in ln]
    assert "MRR at risk" in out
    assert good_row.rstrip(" │|").endswith("$0")  # passed: nothing at risk, as the markdown says
    assert bad_row.rstrip(" │|").endswith("$2,500")
    assert "1 failed" in bad_row and "1 passed" in good_row
    comment = (out_dir / "pr_comment.md").read_text()
    assert "| $0 |" in comment and "| $2,500 |" in comment
    assert "(empty)" not in comment  # no commit locally: no "Commit (empty)"


def test_out_holds_one_five_whys_file_per_pattern(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = checkout / "out"
    run_cli(capsys, "run", "--dir", str(checkout), "--out", str(out_dir))
    [five_whys] = sorted(out_dir.glob("five_whys_*.md"))
    text = five_whys.read_text()
    assert text.startswith("# Five whys: AssertionError: assert 'HTTP 500' == 'HTTP 200'\n")
    assert "<S>" not in text.splitlines()[0]


def test_green_comment_does_not_promise_annotations(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = checkout / "out"
    code, _ = run_cli(
        capsys, "run", "--dir", str(checkout), "--phase", "good", "--out", str(out_dir)
    )
    assert code == 0
    assert "annotated" not in (out_dir / "pr_comment.md").read_text()
    assert not list(out_dir.glob("five_whys_*.md"))


PASSING_PLAN = "phases:\n  - {id: good, suites: [tests/test_good.py]}\n"


@pytest.mark.parametrize("where", ["out", "workdir"])
def test_relative_paths_never_fail_a_passing_suite(
    checkout: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    """pytest writes the JUnit file relative to the checkout; it must be read from the same
    place, whatever the caller's directory (`--out` here, GOLDEN_PATH_WORKDIR for workers)."""
    (checkout / ".github" / "golden-path.yml").write_text(PASSING_PLAN)
    elsewhere = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(elsewhere)
    if where == "out":
        code, out = run_cli(capsys, "run", "--dir", str(checkout), "--out", "results")
        assert code == 0, out
        assert list((elsewhere / "results" / "artifacts").rglob("junit-good.xml"))
    else:
        from bot.settings import Settings

        monkeypatch.setenv("GOLDEN_PATH_WORKDIR", "relative-work")
        assert Settings().workdir == elsewhere / "relative-work"
        from bot.core.plan import parse_plan
        from bot.core.scrub import Scrubber
        from workers.engine import executor

        plan = parse_plan(PASSING_PLAN, "plan")
        report = executor.execute(
            Path(os.path.relpath(checkout)),
            plan,
            ("good",),
            env=dict(os.environ),
            artifacts=Path("relative-work/artifacts/r1"),
            scrub=Scrubber([]),
        )
        assert report.conclusion is not None and report.conclusion.value == "success"
