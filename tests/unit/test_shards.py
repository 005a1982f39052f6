"""A sharded phase's pure parts: suites to files, the balanced split, results through JSON, and
the merge into one phase's session; then the executor with an in-process `Sharding` (every shard
run here, through real pytest), so the merged verdict is the one an unsharded run gives."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.core.plan import parse_plan
from bot.core.results import Attempt, Frame, Outcome, PhaseStatus, RunReport, TestResult
from workers.engine import executor, shards
from workers.engine.shards import ShardResult, ShardsRan


def passed(node_id: str, duration: float = 0.1) -> TestResult:
    return TestResult(node_id, Outcome.PASSED, duration)


def failed(node_id: str) -> TestResult:
    return TestResult(node_id, Outcome.FAILED, 0.2, file=node_id.split("::")[0], message="boom")


# --- expanding suites ---------------------------------------------------------------------


def test_a_folder_becomes_its_test_files_and_a_node_id_stays_whole(tmp_path: Path) -> None:
    for rel in (
        "tests/test_b.py",
        "tests/test_a.py",
        "tests/sub/login_test.py",
        "tests/helpers.py",
        "tests/.hidden/test_h.py",
        "tests/node_modules/test_n.py",
        "other/test_o.py",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    (tmp_path / "empty").mkdir()
    units = shards.expand_suites(
        tmp_path,
        ["tests", "other/test_o.py::test_x", "tests/test_a.py", "missing", "empty"],
    )
    assert units == (
        "tests/test_a.py",
        "tests/test_b.py",
        "tests/sub/login_test.py",
        "other/test_o.py::test_x",
        "missing",
        "empty",
    )


def test_a_symlinked_folder_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "test_x.py").write_text("")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "tests").symlink_to(outside)
    assert shards.expand_suites(checkout, ["tests"]) == ("tests",)


# --- splitting ----------------------------------------------------------------------------


@dataclass
class SplitCase:
    name: str
    units: list[str]
    durations: dict[str, float]
    shards: int
    want: tuple[tuple[str, ...], ...]


SPLIT_CASES = [
    SplitCase("one shard keeps every file", ["a", "b", "c"], {}, 1, (("a", "b", "c"),)),
    SplitCase("unknown durations: by count", ["a", "b", "c", "d"], {}, 2, (("a", "c"), ("b", "d"))),
    SplitCase("more shards than files: one file each", ["a", "b"], {}, 4, (("a",), ("b",))),
    SplitCase(
        "longest first onto the least loaded",
        ["a", "b", "c", "d"],
        {"a": 10.0, "b": 1.0, "c": 1.0, "d": 8.0},
        2,
        (("a",), ("b", "c", "d")),
    ),
    SplitCase(
        "an unrecorded file counts as the mean of the known",
        ["a", "b", "new"],
        {"a": 4.0, "b": 2.0},
        2,
        (("a",), ("b", "new")),
    ),
    SplitCase("no files: no shards", [], {}, 3, ()),
]


@pytest.mark.parametrize("case", SPLIT_CASES, ids=lambda c: c.name)
def test_split(case: SplitCase) -> None:
    assert shards.split(case.units, case.durations, case.shards) == case.want


def test_split_is_balanced_on_many_files() -> None:
    units = [f"tests/test_{i:03}.py" for i in range(100)]
    durations = {u: float(1 + i % 7) for i, u in enumerate(units)}
    groups = shards.split(units, durations, 4)
    loads = [sum(durations[u] for u in g) for g in groups]
    assert len(groups) == 4 and sorted(u for g in groups for u in g) == units
    assert max(loads) - min(loads) <= max(durations.values())


def test_file_durations_sum_the_tests_of_each_file() -> None:
    tests = [passed("t/a.py::x", 1.0), passed("t/a.py::y[1]", 0.5), passed("t/b.py::z", 2.0)]
    assert shards.file_durations(tests) == {"t/a.py": 1.5, "t/b.py": 2.0}
    assert shards.unit_durations(["t/a.py", "t/c.py", "t/b.py::z"], {"t/a.py": 1.5}) == {
        "t/a.py": 1.5
    }


# --- results through Redis (JSON) -----------------------------------------------------------


def test_a_shard_result_survives_json() -> None:
    rich = TestResult(
        "t/a.py::x",
        Outcome.PASSED,
        0.3,
        file="t/a.py",
        line=4,
        message="",
        traceback="tb",
        frames=(Frame("t/a.py", 4, "x"),),
        attempts=(Attempt(Outcome.FAILED, 0.1, "boom"), Attempt(Outcome.PASSED, 0.2)),
    )
    result = ShardResult(
        2,
        tests=(rich, failed("t/b.py::y")),
        collection_errors=(TestResult("t/c.py", Outcome.ERROR, message="SyntaxError"),),
        counts={"passed": 1, "failed": 1, "errors": 1, "skipped": 0, "xfailed": 0, "xpassed": 0},
        running="t/b.py::y",
        problem="pytest ended early",
        abnormal=True,
        output="last words",
        timed_out=True,
        duration_seconds=1.5,
        worker="runs-1@host",
    )
    assert ShardResult.from_json(json.loads(json.dumps(result.to_json()))) == result


# --- merging ------------------------------------------------------------------------------


def counts(**given: int) -> dict[str, int]:
    return {
        w: given.get(w, 0) for w in ("failed", "passed", "skipped", "xfailed", "xpassed", "errors")
    }


@dataclass
class MergeCase:
    name: str
    results: list[ShardResult]
    expected: int
    want_counts: dict[str, int]
    want_problem: str | None = None
    timed_out: bool = False
    lost: dict[int, str] = field(default_factory=dict)
    missing: tuple[int, ...] = ()


MERGE_CASES = [
    MergeCase(
        "counts are summed, tests kept in shard order",
        [
            ShardResult(1, tests=(failed("b.py::y"),), counts=counts(failed=1)),
            ShardResult(0, tests=(passed("a.py::x"),), counts=counts(passed=1)),
        ],
        2,
        counts(passed=1, failed=1),
    ),
    MergeCase(
        "a shard without pytest's counts is counted from its tests",
        [ShardResult(0, tests=(passed("a.py::x"), failed("a.py::y")))],
        1,
        counts(passed=1, failed=1),
    ),
    MergeCase(
        "a shard's problem is named by its shard; one timed out times the phase out",
        [
            ShardResult(0, tests=(passed("a.py::x"),), counts=counts(passed=1)),
            ShardResult(1, problem="pytest was killed by signal 9", timed_out=True, abnormal=True),
        ],
        2,
        counts(passed=1),
        want_problem="shard 2 of 2: pytest was killed by signal 9",
        timed_out=True,
    ),
    MergeCase(
        "a lost shard is a problem of the phase",
        [ShardResult(0, tests=(passed("a.py::x"),), counts=counts(passed=1))],
        2,
        counts(passed=1),
        want_problem="shard 2 of 2 reported no result: its worker was lost twice",
        lost={1: "its worker was lost twice"},
        missing=(1,),
    ),
]


@pytest.mark.parametrize("case", MERGE_CASES, ids=lambda c: c.name)
def test_merge(case: MergeCase) -> None:
    merged = shards.merge(case.results, expected=case.expected, lost=case.lost)
    assert merged.counts == case.want_counts
    assert merged.problem == case.want_problem
    assert merged.timed_out is case.timed_out
    assert merged.missing == case.missing
    ordered = sorted(case.results, key=lambda r: r.index)
    assert merged.tests == tuple(t for r in ordered for t in r.tests)


def test_merge_keeps_the_first_stop_reason() -> None:
    merged = shards.merge(
        [ShardResult(0, stopped="Superseded by abc1234"), ShardResult(1)], expected=2
    )
    assert merged.stopped == "Superseded by abc1234"


# --- the executor with every shard run in this process --------------------------------------


@dataclass
class LocalShards:
    """A `Sharding` that runs every shard itself, in order (what the coordinator does when no
    other worker takes any)."""

    recorded: dict[str, float] = field(default_factory=dict)
    known: dict[str, float] = field(default_factory=dict)
    groups: list[list[str]] = field(default_factory=list)
    stop_after_first: str | None = None

    def durations(self, phase_id: str) -> Mapping[str, float]:
        return self.known

    def remember(self, phase_id: str, durations: Mapping[str, float]) -> None:
        self.recorded.update(durations)

    def run(
        self,
        phase_id: str,
        groups: Sequence[Sequence[str]],
        own: Callable[[int, float], ShardResult],
        *,
        seconds: float,
        should_stop: Callable[[], str | None],
    ) -> ShardsRan:
        self.groups = [list(g) for g in groups]
        results = []
        for index in range(len(groups)):
            results.append(own(index, seconds))
            if self.stop_after_first:
                return ShardsRan(tuple(results), stopped=self.stop_after_first)
        return ShardsRan(tuple(results))


SUITES = {
    "tests/test_a.py": "def test_a1():\n    pass\n\ndef test_a2():\n    pass\n",
    "tests/test_b.py": "def test_b1():\n    assert 1 == 2\n",
    "tests/test_c.py": "import pytest\n\n@pytest.mark.skip\ndef test_c1():\n    pass\n",
    "tests/test_d.py": "def test_d1():\n    pass\n",
}


def run_plan(root: Path, plan_text: str, sharding: LocalShards | None) -> RunReport:
    for rel, text in SUITES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    plan = parse_plan(textwrap.dedent(plan_text))
    return executor.execute(
        root,
        plan,
        plan.phase_ids,
        env=executor.build_env(plan, {"PATH": "/usr/bin:/bin", "HOME": str(root)}),
        artifacts=root / "artifacts",
        scrub=str,
        sharding=sharding,
    )


SHARDED = """
phases:
  - id: all
    shards: 3
    suites: [tests]
"""


def test_a_sharded_phase_merges_to_the_unsharded_verdict(tmp_path: Path) -> None:
    local = LocalShards()
    sharded = run_plan(tmp_path / "one", SHARDED, local).phases[0]
    whole = run_plan(tmp_path / "two", SHARDED, None).phases[0]
    assert len(local.groups) == 3
    assert sorted(u for g in local.groups for u in g) == sorted(SUITES)
    assert sharded.status is whole.status is PhaseStatus.FAILED
    assert sharded.counts == whole.counts == counts(passed=3, failed=1, skipped=1)
    assert sorted(t.node_id for t in sharded.tests) == sorted(t.node_id for t in whole.tests)
    assert sharded.reasons == whole.reasons
    assert set(local.recorded) == {
        "tests/test_a.py",
        "tests/test_b.py",
        "tests/test_c.py",
        "tests/test_d.py",
    }


def test_a_stop_while_shards_run_cancels_the_run(tmp_path: Path) -> None:
    report = run_plan(tmp_path, SHARDED, LocalShards(stop_after_first="Superseded by abc1234"))
    assert report.conclusion is not None and report.conclusion.value == "cancelled"
    assert report.phases[0].status is PhaseStatus.NOT_RUN
    assert report.problem == "Superseded by abc1234"


def test_a_single_file_phase_runs_whole(tmp_path: Path) -> None:
    local = LocalShards()
    one_file = SHARDED.replace("[tests]", "[tests/test_a.py]")
    phase = run_plan(tmp_path, one_file, local).phases[0]
    assert local.groups == [] and phase.status is PhaseStatus.PASSED and phase.passed == 2


def test_a_shard_stopped_by_the_phase_timeout_times_the_phase_out(tmp_path: Path) -> None:
    hanging = {
        **SUITES,
        "tests/test_hang.py": "import time\n\ndef test_hang():\n    time.sleep(600)\n",
    }
    for rel, text in hanging.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    plan = parse_plan(SHARDED.replace("shards: 3", "shards: 2\n    timeout_minutes: 0.05"))
    report = executor.execute(
        tmp_path,
        plan,
        plan.phase_ids,
        env=executor.build_env(plan, {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}),
        artifacts=tmp_path / "artifacts",
        scrub=str,
        sharding=LocalShards(),
    )
    phase = report.phases[0]
    assert phase.status is PhaseStatus.TIMED_OUT
    assert phase.reasons[0] == "timed out after 3 s"
    assert phase.running == "tests/test_hang.py::test_hang"
    assert phase.passed == 3  # the other shard's tests, and the hanging shard's before it


def test_fail_fast_holds_on_the_merged_verdict(tmp_path: Path) -> None:
    two_phases = SHARDED + "  - id: later\n    suites: [tests/test_a.py]\n"
    report = run_plan(tmp_path, "fail_fast: true\n" + two_phases.lstrip("\n"), LocalShards())
    assert [p.status for p in report.phases] == [PhaseStatus.FAILED, PhaseStatus.NOT_RUN]
    assert "fail_fast" in report.phases[1].reasons[0]
