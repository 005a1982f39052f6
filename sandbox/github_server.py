"""Serve the fake GitHub REST API (`sandbox.fake_github`) over real HTTP, for tests and the demo.

PyGithub runs unmodified against it (`Github(base_url=server.url)`).

Run it alone:  python -m sandbox.github_server --port 9000 --app-id 1 --public-key app.pub.pem
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

import uvicorn
from cryptography.hazmat.primitives import serialization

from sandbox.fake_github.fake import FakeGitHub

__all__ = ["FakeGitHub", "FakeGitHubServer", "create_fake_github", "main", "public_pem"]


def create_fake_github(
    app_id: str, public_key_pem: str, *, bot_login: str = "golden-path[bot]"
) -> FakeGitHub:
    return FakeGitHub(app_id, public_key_pem, bot_login=bot_login)


# --- running it -------------------------------------------------------------------------------


class FakeGitHubServer:
    """Serve a `FakeGitHub` with uvicorn on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(
        self,
        fake: FakeGitHub | None = None,
        *,
        app_id: str | None = None,
        public_key_pem: str | None = None,
        bot_login: str = "golden-path[bot]",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Serve `fake`, or a new one made from `app_id` and `public_key_pem`."""
        if fake is None:
            if app_id is None or public_key_pem is None:
                raise TypeError("give a FakeGitHub, or app_id and public_key_pem")
            fake = create_fake_github(str(app_id), public_key_pem, bot_login=bot_login)
        self.fake = fake
        self.host, self.port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeGitHubServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.fake.base_url = self.url
        config = uvicorn.Config(self.fake.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake GitHub server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> FakeGitHubServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def public_pem(pem: str) -> str:
    """The public half of a PEM key; a private key is accepted too (handy for the demo)."""
    if "PRIVATE KEY" not in pem:
        return pem
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public.decode()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--app-id", required=True)
    parser.add_argument(
        "--public-key", required=True, type=Path, help="the App's public (or private) PEM key"
    )
    parser.add_argument("--bot-login", default="golden-path[bot]")
    args = parser.parse_args(argv)
    public_key = public_pem(args.public_key.read_text(encoding="utf-8"))
    fake = create_fake_github(args.app_id, public_key, bot_login=args.bot_login)
    fake.base_url = f"http://{args.host}:{args.port}"
    uvicorn.run(fake.app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
