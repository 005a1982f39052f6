"""What hostile test code can reach, with the sandbox (`bwrap`) and without it (`none`).

Real processes only: a "worker" process started with the bot's secrets in its environment runs a
plan whose setup step and tests probe for them (contract §5.2). Every probe also runs unsandboxed,
where it must succeed: that shows each assertion about the sandbox is one that can fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.core.plan import PLAN_PATH, parse_plan
from bot.core.results import Conclusion
from workers.engine import executor, sandbox

pytestmark = pytest.mark.skipif(sandbox.problem() is not None, reason="bubblewrap missing")

ROOT = Path(__file__).resolve().parents[1]
KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEkeyMaterialThatMustNeverLeak0123456789\n"
WEBHOOK_SECRET = "whsec-never-leak-5b1e7c"
REDIS_PASSWORD = "redis-pw-never-leak-93ad"
OTHER_RUN_SECRET = "other-run-secret-0f7e"

PROBE = """
import json, os, pathlib


def read(path):
    try:
        return pathlib.Path(path).read_text(errors="replace")
    except OSError:
        return None


def test_probe():
    me = os.getpid()
    environs = []
    for proc in pathlib.Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != me:
            try:
                environs.append((proc / "environ").read_bytes().decode(errors="replace"))
            except OSError:
                pass
    try:
        checkouts = sorted(os.listdir(os.environ["WORKDIR"] + "/checkouts"))
    except OSError:
        checkouts = None
    for target in (os.environ["OUTSIDE"], os.path.expanduser("~/.gitconfig")):
        try:
            pathlib.Path(target).write_text("[core]\\n\\thooksPath = /tmp/evil-hooks\\n")
        except OSError:
            pass
    found = {
        "environs": environs,
        "own_env": dict(os.environ),
        "key": read(os.environ["KEY_PATH"]),
        "bot_source": read(os.environ["BOT_SOURCE"]),
        "other_run": read(os.environ["OTHER_RUN"]),
        "checkouts": checkouts,
        "pid1_cmdline": read("/proc/1/cmdline"),
        "pid1_environ": read("/proc/1/environ"),
        "uid": os.getuid(),
    }
    out = pathlib.Path(os.environ["GOLDEN_PATH_OUTPUT"]) / "findings.json"
    out.write_text(json.dumps(found))
"""

WORKER = """
import json, os, sys, time
from pathlib import Path
from bot.core.plan import PLAN_PATH, parse_plan
from workers.engine import executor
from workers.engine import sandbox
checkout, artifacts, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
plan = parse_plan((checkout / PLAN_PATH).read_text())
report = executor.execute(
    checkout, plan, plan.phase_ids, env=executor.build_env(plan, os.environ),
    artifacts=artifacts, scrub=str, isolation=sandbox.isolation(mode),
)
print(json.dumps({"conclusion": report.conclusion.value, "problem": report.problem}))
"""


@dataclass
class Probed:
    mode: str
    findings: dict[str, Any]
    outcome: dict[str, Any]
    base: Path
    daemon_marker: str

    @property
    def dump(self) -> str:
        return json.dumps(self.findings)


def _layout(base: Path, daemon_marker: str) -> tuple[Path, dict[str, str]]:
    work = base / "work"
    checkout = work / "checkouts" / "run-1"
    other = work / "checkouts" / "other-run"
    for folder in (checkout / "tests", checkout / ".github", other, base / "home"):
        folder.mkdir(parents=True)
    (other / "secret.txt").write_text(OTHER_RUN_SECRET)
    (base / "key.pem").write_text(KEY)
    os.chmod(base / "key.pem", 0o600)
    (checkout / "tests" / "test_probe.py").write_text(PROBE)
    probe_env = {
        "KEY_PATH": str(base / "key.pem"),
        "BOT_SOURCE": str(ROOT / "bot" / "settings.py"),
        "OTHER_RUN": str(other / "secret.txt"),
        "WORKDIR": str(work),
        "OUTSIDE": str(work / "planted.txt"),
    }
    plan = {
        "env": probe_env,
        "setup": [
            {
                "name": "leave a daemon behind",
                "run": f"setsid sleep {daemon_marker} >/dev/null 2>&1 </dev/null &",
            }
        ],
        "phases": [{"id": "probe", "suites": ["tests/test_probe.py"]}],
    }
    (checkout / PLAN_PATH).write_text(json.dumps(plan))  # JSON is YAML
    worker_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(base / "home"),
        "GITHUB_PRIVATE_KEY": KEY,
        "GITHUB_PRIVATE_KEY_PATH": str(base / "key.pem"),
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0",
    }
    return checkout, worker_env


def daemons(marker: str) -> list[int]:
    """Host pids of `sleep <marker>` processes."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().split(b"\0")[:2] == [
                b"sleep",
                marker.encode(),
            ]:
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def probe(base: Path, mode: str) -> Probed:
    marker = str(900000 + uuid.uuid4().int % 99999)
    checkout, worker_env = _layout(base, marker)
    artifacts = base / "work" / "artifacts" / "run-1"
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(checkout), str(artifacts), mode],
        env=worker_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    findings_file = artifacts / executor.OUTPUT_DIR / "findings.json"
    findings = json.loads(findings_file.read_text())
    return Probed(mode, findings, json.loads(done.stdout), base, marker)


@pytest.fixture(scope="module", params=["bwrap", "none"])
def probed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    result = probe(tmp_path_factory.mktemp(request.param), request.param)
    yield result
    _kill(daemons(result.daemon_marker))


def _reached(probed: Probed, reached: bool) -> None:
    """Sandboxed, nothing is reached; unsandboxed, the same probe does reach it."""
    assert reached is (probed.mode == "none")


def test_the_run_itself_succeeds(probed: Probed) -> None:
    assert probed.outcome == {"conclusion": Conclusion.SUCCESS.value, "problem": None}


def test_the_workers_environment_cannot_be_read_through_proc(probed: Probed) -> None:
    environs = "\n".join(probed.findings["environs"])
    _reached(probed, KEY.splitlines()[1] in environs and WEBHOOK_SECRET in environs)
    _reached(probed, REDIS_PASSWORD in environs)


def test_the_test_process_gets_none_of_the_bots_variables(probed: Probed) -> None:
    own = probed.findings["own_env"]
    names = ("GITHUB_PRIVATE_KEY", "GITHUB_PRIVATE_KEY_PATH", "GITHUB_WEBHOOK_SECRET", "REDIS_URL")
    assert not set(names) & set(own)
    assert REDIS_PASSWORD not in json.dumps(own)


def test_no_secret_anywhere_the_sandbox_can_look(probed: Probed) -> None:
    secrets = (KEY.splitlines()[1], WEBHOOK_SECRET, REDIS_PASSWORD, OTHER_RUN_SECRET)
    _reached(probed, any(s in probed.dump for s in secrets))


def test_the_bots_files_are_out_of_sight(probed: Probed) -> None:
    _reached(probed, probed.findings["key"] is not None)  # the App's private key file
    _reached(probed, probed.findings["bot_source"] is not None)  # the bot's source tree


def test_other_runs_checkouts_are_out_of_sight(probed: Probed) -> None:
    _reached(probed, probed.findings["other_run"] is not None)
    _reached(probed, "other-run" in (probed.findings["checkouts"] or []))


def test_nothing_is_written_outside_the_checkout_and_output(probed: Probed) -> None:
    _reached(probed, (probed.base / "work" / "planted.txt").exists())


def test_a_planted_gitconfig_does_not_outlive_the_run(probed: Probed) -> None:
    _reached(probed, (probed.base / "home" / ".gitconfig").exists())


def test_a_background_process_does_not_outlive_the_run(probed: Probed) -> None:
    _reached(probed, bool(daemons(probed.daemon_marker)))


def test_pid1_of_the_sandbox_holds_no_secret(probed: Probed) -> None:
    if probed.mode == "none":
        pytest.skip("unsandboxed, PID 1 is the machine's init")
    cmdline = probed.findings["pid1_cmdline"] or ""
    assert cmdline.startswith("bwrap\0")
    assert probed.findings["pid1_environ"] is None  # not even readable: it belongs to root
    for secret in (KEY.splitlines()[1], WEBHOOK_SECRET, REDIS_PASSWORD, OTHER_RUN_SECRET):
        assert secret not in cmdline
    assert probed.findings["uid"] == sandbox.SANDBOX_UID


# --- the PID namespace: nothing outlives a cancel or a dead worker ---------------------------

CANCEL_PLAN = """
setup:
  - {{name: daemon, run: "setsid sleep {marker} >/dev/null 2>&1 </dev/null &"}}
  - {{name: deploy, run: "sleep 60"}}
phases:
  - {{id: never, suites: [tests]}}
"""


def test_cancel_leaves_no_process_behind_setsid_or_not(tmp_path: Path) -> None:
    marker = str(800000 + uuid.uuid4().int % 99999)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    plan = parse_plan(CANCEL_PLAN.format(marker=marker))
    try:
        report = executor.execute(
            checkout,
            plan,
            plan.phase_ids,
            env=executor.build_env(plan, {"PATH": os.environ["PATH"]}),
            artifacts=tmp_path / "artifacts",
            scrub=str,
            should_stop=lambda: "cancelled by octocat" if daemons(marker) else None,
            isolation=sandbox.sandboxed,
        )
        assert report.conclusion is Conclusion.CANCELLED
        assert daemons(marker) == []
    finally:
        _kill(daemons(marker))


DYING_WORKER = """
import os, sys
from pathlib import Path
from bot.core.plan import parse_plan
from workers.engine import executor
from workers.engine import sandbox
plan = parse_plan(sys.argv[2])
executor.execute(Path(sys.argv[1]), plan, plan.phase_ids, env={"PATH": os.environ["PATH"]},
               artifacts=Path(sys.argv[1]) / "artifacts", scrub=str, isolation=sandbox.sandboxed)
"""


def test_a_dead_worker_takes_every_sandboxed_process_with_it(tmp_path: Path) -> None:
    marker = str(700000 + uuid.uuid4().int % 99999)
    plan = CANCEL_PLAN.format(marker=marker)
    worker = subprocess.Popen([sys.executable, "-c", DYING_WORKER, str(tmp_path), plan], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not daemons(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert daemons(marker), "the setup step never started its daemon"
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        deadline = time.monotonic() + 10
        while daemons(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert daemons(marker) == [], "a sandboxed process outlived its worker"
    finally:
        if worker.poll() is None:
            worker.kill()
        _kill(daemons(marker))


def test_setup_leaves_a_server_running_for_the_tests(tmp_path: Path) -> None:
    """One sandbox per run: what a setup step starts is there for the phases, then gone."""
    checkout = tmp_path / "checkout"
    (checkout / "tests").mkdir(parents=True)
    (checkout / "tests" / "test_up.py").write_text(
        textwrap.dedent(
            """
            import os, pathlib, time
            def test_server_from_setup_is_alive():
                pid = int(pathlib.Path("daemon.pid").read_text())
                os.kill(pid, 0)
                assert pathlib.Path(os.path.expanduser("~/from-setup")).exists()
            """
        )
    )
    plan = parse_plan(
        textwrap.dedent(
            """
            setup:
              - {name: serve, run: "sleep 120 & echo $! > daemon.pid; touch ~/from-setup"}
            phases:
              - {id: up, suites: [tests/test_up.py]}
            """
        )
    )
    report = executor.execute(
        checkout,
        plan,
        plan.phase_ids,
        env=executor.build_env(plan, {"PATH": os.environ["PATH"]}),
        artifacts=tmp_path / "artifacts",
        scrub=str,
        isolation=sandbox.sandboxed,
    )
    assert report.conclusion is Conclusion.SUCCESS, report
