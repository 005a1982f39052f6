"""A real, throwaway `redis-server` on a free loopback port, for tests, benches and the demo.

It requires a password, as a deployment's Redis should (it holds the broker and the bot's run
state; anyone who reaches it could queue forged tasks): `url` carries it. The configuration goes
to redis-server on its stdin, so the password is on no command line (`ps` shows every one).
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """`start()` -> url; `stop()`; `start()` again reuses the port, so clients can reconnect."""

    def __init__(
        self, port: int | None = None, password: str | None = None, *, appendonly: bool = False
    ) -> None:
        self.port = port or free_port()
        self.password = password or secrets.token_urlsafe(24)
        self.appendonly = appendonly  # with AOF on, `restart()` keeps every key
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> str:
        if self._process is not None:
            return self.url
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="golden-path-redis-"))
        config = "\n".join(
            [
                f"port {self.port}",
                "bind 127.0.0.1",
                'save ""',
                "appendonly yes\nappendfsync always" if self.appendonly else "appendonly no",
                f'dir "{self._dir}"',
                f"requirepass {self.password}",
                "",
            ]
        )
        self._process = subprocess.Popen(
            [REDIS_SERVER, "-"],  # "-": read the configuration from stdin
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert self._process.stdin is not None
        self._process.stdin.write(config.encode())
        self._process.stdin.close()
        deadline = time.monotonic() + timeout
        while not self._answers_ping():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return self.url

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop the server (SIGTERM, as a deploy or a crash-restart would), stay down for
        `down_seconds`, start it again on the same port and folder (its AOF, when on)."""
        self._terminate()
        time.sleep(down_seconds)
        self.start()

    def pause(self, milliseconds: int) -> None:
        """`CLIENT PAUSE <ms> ALL`: every client's commands wait, as in a failover."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(
                f"AUTH {self.password}\r\nCLIENT PAUSE {int(milliseconds)} ALL\r\n".encode()
            )
            answer = b""
            while len(answer) < 10 and (chunk := sock.recv(16)):
                answer += chunk
            if not answer.startswith(b"+OK\r\n+OK"):
                raise RuntimeError("CLIENT PAUSE refused")

    def stop(self) -> None:
        self._terminate()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                answer = b""
                while len(answer) < 12 and (chunk := sock.recv(16)):
                    answer += chunk
                return answer.startswith(b"+OK\r\n+PONG")
        except OSError:
            return False
