"""How much time the runner adds on top of plain pytest, on the bundled example's suites.

Starts the example's staging service once, then times, 5 times each (interleaved):
  - plain:  `python -m pytest SUITES -q` once per phase, one after the other;
  - runner: `workers.engine.executor.execute(...)` on the same plan without its setup step
            (same phases: pytest with --junitxml, JUnit parsing, judging, progress reports);
  - bwrap:  the same, in the sandbox the worker uses (`--sandbox`; GOLDEN_PATH_SANDBOX=bwrap).
Prints the medians, their min-max spread, and the ratios to plain pytest.

Run: .venv/bin/python bench/runner_overhead.py [--runs 5] [--sandbox]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.plan import PLAN_PATH, Plan, parse_plan  # noqa: E402 - after the path fix, for a plain checkout
from bot.core.scrub import Scrubber  # noqa: E402
from workers.engine import executor, sandbox  # noqa: E402

EXAMPLE = ROOT / "examples" / "staging-demo"


def time_plain(checkout: Path, plan: Plan, env: dict[str, str], *, check: bool = True) -> float:
    started = time.perf_counter()
    for phase in plan.phases:
        subprocess.run(
            [sys.executable, "-m", "pytest", *phase.suites, "-q", "-p", "no:cacheprovider"],
            cwd=checkout,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            check=check,
        )
    return time.perf_counter() - started


def time_runner(
    checkout: Path,
    plan: Plan,
    env: dict[str, str],
    artifacts: Path,
    isolation: executor.Isolation = executor.unsandboxed,
) -> float:
    started = time.perf_counter()
    report = executor.execute(
        checkout,
        plan,
        plan.phase_ids,
        env=env,
        artifacts=artifacts,
        scrub=Scrubber(executor.secret_values(plan, env)),
        on_progress=lambda r: None,
        isolation=isolation,
    )
    elapsed = time.perf_counter() - started
    if report.conclusion is None or report.conclusion.value != "success":
        sys.exit(f"the example did not pass under the runner: {report.problem or report.phases}")
    return elapsed


def describe(name: str, samples: list[float]) -> str:
    return (
        f"{name:<7} median {statistics.median(samples):6.2f} s   "
        f"spread {min(samples):.2f}-{max(samples):.2f} s   (n={len(samples)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sandbox", action="store_true", help="also time the runner in bwrap")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="golden-path-bench-"))
    checkout = work / "demo"
    shutil.copytree(EXAMPLE, checkout, ignore=shutil.ignore_patterns(".staging", "__pycache__"))
    full = parse_plan((checkout / PLAN_PATH).read_text())
    plan = full.model_copy(update={"setup": ()})  # the service is started once, below
    worker_env = {k: v for k, v in os.environ.items() if k != "GOLDEN_PATH_DEMO_BREAK"}
    env = executor.build_env(plan, worker_env)
    subprocess.run([sys.executable, "staging_app/start.py"], cwd=checkout, env=env, check=True)
    try:
        # warm-up: imports, page cache, and the service's cold caches (the example's billing
        # history answers 503 once after a deploy: its plan retries that test, plain pytest not)
        time_plain(checkout, plan, env, check=False)
        plain, ran, boxed = [], [], []
        for i in range(args.runs):
            plain.append(time_plain(checkout, plan, env))
            ran.append(time_runner(checkout, plan, env, work / f"artifacts-{i}"))
            if args.sandbox:
                artifacts = work / f"artifacts-bwrap-{i}"
                boxed.append(time_runner(checkout, plan, env, artifacts, sandbox.sandboxed))
    finally:
        subprocess.run([sys.executable, "staging_app/stop.py"], cwd=checkout, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(plan.phases)} phases, {args.runs} runs each, python {sys.version.split()[0]}")
    print(describe("pytest", plain))
    print(describe("runner", ran))
    if boxed:
        print(describe("bwrap", boxed))
    for name, samples in (("runner", ran), ("bwrap", boxed)):
        if samples:
            ratio = statistics.median(samples) / statistics.median(plain)
            overhead = statistics.median(samples) - statistics.median(plain)
            print(f"ratio {name}/pytest {ratio:.3f}  (overhead {overhead:+.2f} s per run)")


if __name__ == "__main__":
    main()
