"""The Procfile (contract §1): `web` and `worker` exist, every line is valid bash whose program
resolves, `web` serves on $PORT, and every Celery queue has a worker consuming it."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sandbox.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = str(Path(sys.executable).parent)
PATH = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


def _processes() -> dict[str, str]:
    found: dict[str, str] = {}
    for raw in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        name, sep, command = raw.partition(":")
        assert sep and re.fullmatch(r"[A-Za-z0-9_-]+", name), f"not `name: command`: {raw!r}"
        assert name not in found, f"{name} declared twice"
        found[name] = command.strip()
    return found


PROCESSES = _processes()


_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")
_OPERATORS = {"&&", "||", ";", "|", "&"}


def _expand(command: str, env: dict[str, str]) -> str:
    """`${NAME:-default}`, `${NAME}` and `$NAME` as bash expands them (nothing is executed)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        default = match.group(2) if match.group(2) is not None else ""
        return env.get(name) or default

    return _VARIABLE.sub(value, command)


def _simple_commands(command: str, **env: str) -> list[list[str]]:
    """The words of each simple command of a line (split at `&&`, `;`, `|`...), expanded;
    leading `exec` and `NAME=value` assignments dropped."""
    lexer = shlex.shlex(_expand(command, env), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in _OPERATORS:
            commands.append([])
        elif commands[-1] or not (token == "exec" or re.fullmatch(r"\w+=.*", token)):
            commands[-1].append(token)
    return [words for words in commands if words]


def _program(command: str, **env: str) -> list[str]:
    """The words of the command that becomes the process (the last one, after `exec`)."""
    return _simple_commands(command, **env)[-1]


def test_web_and_worker_are_declared() -> None:
    assert {"web", "worker"} <= set(PROCESSES)


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_each_line_is_valid_bash(name: str) -> None:
    done = subprocess.run(["bash", "-n", "-c", PROCESSES[name]], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_each_program_resolves(name: str) -> None:
    for words in _simple_commands(PROCESSES[name]):
        program = words[0]
        if "/" in program:
            path = ROOT / program
            assert path.is_file(), program
            assert os.access(path, os.X_OK), f"{program} is not executable"
        else:
            assert shutil.which(program, path=PATH), f"{program} is not installed"


def test_the_web_line_runs_uvicorn_on_the_app_and_honors_port() -> None:
    command = PROCESSES["web"]
    words = _program(command)
    assert words[:2] == ["uvicorn", "bot.app:app"]
    with_port = _program(command, PORT="5123")
    assert with_port[with_port.index("--port") + 1] == "5123"
    without = _program(command)
    assert without[without.index("--port") + 1].isdigit()  # a default when PORT is unset
    assert without[without.index("--host") + 1] == "0.0.0.0"  # reachable from the router


def test_the_web_target_is_an_asgi_app() -> None:
    from bot import app as web

    assert callable(web.app)


def test_bin_worker_is_valid_executable_bash_in_git_too() -> None:
    script = ROOT / "bin" / "worker"
    assert script.read_text().startswith("#!/usr/bin/env bash")
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    staged = subprocess.run(
        ["git", "ls-files", "-s", "bin/worker"], cwd=ROOT, capture_output=True, text=True
    )
    if staged.stdout:  # a deploy from git gets the mode git recorded, not the disk's
        assert staged.stdout.startswith("100755"), staged.stdout


def _consumed_queues() -> set[str]:
    """Queues named by `-Q` in the Procfile and in bin/worker."""
    text = "\n".join([*PROCESSES.values(), (ROOT / "bin" / "worker").read_text()])
    queues: set[str] = set()
    for match in re.finditer(r"(?:-Q|--queues)[ =]([\w,-]+)", text):
        queues.update(match.group(1).split(","))
    return queues


def test_every_celery_queue_has_a_consumer() -> None:
    from workers import celery_app

    routed = {route["queue"] for route in celery_app.app.conf.task_routes.values()}
    assert routed, "no task routes"
    assert routed <= _consumed_queues()


def test_the_web_line_as_is_serves_on_port(redis_url: str, tmp_path: Path) -> None:
    """`bash -c "<web line>"` with PORT set answers /healthz on that port."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
        "PATH": PATH,
        "PORT": str(port),
        "REDIS_URL": redis_url,
        "GITHUB_WEBHOOK_SECRET": "procfile-test",
    }
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", PROCESSES["web"]],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-2000:]
                    pytest.fail(f"web did not serve on $PORT={port}: {tail}")
                time.sleep(0.1)
        assert response.status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_parser_reads_what_bash_would() -> None:
    assert _program("uvicorn a:b --port ${PORT:-8000}", PORT="9") == [
        "uvicorn",
        "a:b",
        "--port",
        "9",
    ]
    assert _program("uvicorn a:b --port ${PORT:-8000}") == ["uvicorn", "a:b", "--port", "8000"]
    assert _program("exec bin/worker") == ["bin/worker"]
    line = 'mkdir -p "${DIR:-/tmp}" && exec celery beat -s "$DIR/x"'
    assert _simple_commands(line, DIR="/w") == [
        ["mkdir", "-p", "/w"],
        ["celery", "beat", "-s", "/w/x"],
    ]
    assert _simple_commands("A=1 exec run;other") == [["run"], ["other"]]


def _fake_celery(folder: Path, marks: Path) -> Path:
    """A `celery` that notes each start (its queue), and exits at once when the queue's `-exit`
    file exists; otherwise it runs until SIGTERM, noting that it was told to stop."""
    folder.mkdir()
    script = folder / "celery"
    script.write_text(
        "#!/usr/bin/env bash\n"
        'queue=$(echo "$@" | sed -E "s/.*-Q ([a-z]+).*/\\1/")\n'
        f'echo start >> {marks}/"$queue"\n'
        f'[ -e {marks}/"$queue"-exit ] && exit 3\n'
        f"trap 'echo stopped >> {marks}/\"$queue\"; exit 0' TERM\n"
        "while true; do sleep 0.05; done\n"
    )
    script.chmod(0o755)
    return folder


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _wait_for(check: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_bin_worker_starts_a_celery_worker_that_exited_again_and_stops_on_term(
    tmp_path: Path,
) -> None:
    """No outside supervisor needed: a Celery worker that exits is started again (with a
    backoff), the other one is left alone, and SIGTERM stops both for good."""
    marks = tmp_path / "marks"
    marks.mkdir()
    (marks / "runs-exit").touch()  # the runs worker exits as kombu can make it on a Redis restart
    fake_bin = _fake_celery(tmp_path / "bin", marks)
    env = {**os.environ, "PATH": f"{fake_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    process = subprocess.Popen(
        [str(ROOT / "bin" / "worker")],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: len(_lines(marks / "runs")) >= 2, 10)  # exited, started again
        (marks / "runs-exit").unlink()
        _wait_for(lambda: len(_lines(marks / "runs")) >= 3, 10)  # after 1 s, then 2 s
        assert process.poll() is None
        assert _lines(marks / "events") == ["start"]  # the other one was never touched
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert _lines(marks / "events") == ["start", "stopped"]
    assert _lines(marks / "runs")[-1] == "stopped"
    assert process.stderr is not None
    assert "the runs Celery worker exited (status 3)" in process.stderr.read().decode()
