"""Setup steps and test processes isolated with bubblewrap (contract §5.2).

One sandbox per run. A *keeper* `bwrap` holds the run's namespaces (PID, mount, IPC, UTS), its
private tmpfs `HOME` and `/tmp`, and a root that shows only system directories (read-only), the
interpreter (read-only, without the bot's own package), the checkout and the run's output folder.
Each step enters those namespaces with `nsenter` and drops to an unprivileged uid with `setpriv`,
so a server a setup step starts in the background is still there for the tests. Killing the
keeper (the run ended or was cancelled; or the worker died, `--die-with-parent`) ends the PID
namespace, and the kernel kills everything left in it, `setsid` or not.

No secret is ever on a command line: the keeper gets an empty environment, and a step's
environment is that of its own `nsenter` process (outside the sandbox), which the step inherits.

The builders (`keeper_argv`, `enter_argv`, `plan_mounts`) are pure; `Sandbox` and `host_mounts`
are the thin edge that looks at this machine and starts processes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from workers.engine import processes

SANDBOX_UID = 65534  # nobody
HOME = "/home/golden-path"
HOSTNAME = "golden-path"
SYSTEM_DIRS = ("/usr",)
SYSTEM_TOP = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")  # links into /usr, or dirs
# What of /etc a process needs to resolve names, verify TLS and find its libraries; nothing else.
ETC_ENTRIES = (
    "alternatives",
    "ca-certificates",
    "ca-certificates.conf",
    "pki",
    "ssl",
    "resolv.conf",
    "hosts",
    "host.conf",
    "gai.conf",
    "nsswitch.conf",
    "services",
    "protocols",
    "passwd",
    "group",
    "localtime",
    "timezone",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "mime.types",
    "os-release",
    "debian_version",
)
BOT_DISTRIBUTION = "golden_path_bot"  # as it appears in site-packages file names
BOT_PACKAGES = ("bot", "workers", "templates")
START_TIMEOUT_SECONDS = 20.0
CLOSE_TIMEOUT_SECONDS = 10.0
DROP_PRIVILEGES = (
    "/usr/bin/setpriv",
    "--reuid",
    str(SANDBOX_UID),
    "--regid",
    str(SANDBOX_UID),
    "--clear-groups",
    "--inh-caps=-all",
    "--no-new-privs",
)


class SandboxError(OSError):
    """The sandbox could not be set up; the message says why (never a secret)."""


@dataclass(frozen=True)
class Mounts:
    """What the sandbox's root shows. Every path is absolute and appears at the same place inside
    as outside, so file names in test reports mean the same thing on both sides."""

    writable: tuple[str, ...]
    readonly: tuple[str, ...] = ()
    system: tuple[str, ...] = SYSTEM_DIRS
    links: tuple[tuple[str, str], ...] = ()  # (path, target): /bin -> usr/bin
    etc: tuple[str, ...] = ()
    hidden_files: tuple[str, ...] = ()  # inside a readonly tree: shown as empty
    hidden_dirs: tuple[str, ...] = ()


# --- pure builders ------------------------------------------------------------------------


def keeper_argv(
    mounts: Mounts,
    *,
    info_fd: int,
    privileged: bool,
    bwrap: str = "bwrap",
) -> list[str]:
    """The keeper: a `bwrap` that sets the sandbox up, says so on its stdout from inside (bwrap's
    `--info-fd` answers before its root is in place), then sleeps until it is killed."""
    argv = [bwrap, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", HOSTNAME]
    argv += ["--die-with-parent", "--new-session"]
    if privileged:  # real root: no user namespace; the sleeper drops to nobody like every step
        argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:  # an ordinary user: bwrap maps it to nobody in a user namespace of its own
        argv += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
        argv += ["--disable-userns"]
    argv += _filesystem(mounts)
    argv += ["--chdir", "/", "--info-fd", str(info_fd), "--"]
    sleeper = ["/bin/sh", "-c", "echo ready; exec /usr/bin/sleep infinity"]
    argv += [*DROP_PRIVILEGES, *sleeper] if privileged else sleeper
    return argv


def enter_argv(
    keeper_pid: int,
    command: Sequence[str],
    *,
    cwd: str,
    privileged: bool,
    nsenter: str = "nsenter",
) -> list[str]:
    """`command` run inside the keeper's namespaces, in `cwd`, as nobody."""
    argv = [nsenter, "--target", str(keeper_pid), "--mount", "--pid", "--ipc", "--uts"]
    # `cd` once inside and unprivileged: nsenter's own --wd=DIR would resolve DIR outside
    inside = ["--root", "--wd", "--"]
    chdir = ["/usr/bin/env", f"--chdir={cwd}", "--", *command]
    if privileged:
        return [*argv, *inside, *DROP_PRIVILEGES, "--", *chdir]
    return [*argv, "--user", "--preserve-credentials", *inside, *chdir]


def _filesystem(mounts: Mounts) -> list[str]:
    argv: list[str] = []
    for top in ("/etc", "/var", "/home"):  # bwrap would make them 0700: nobody could look in
        argv += ["--perms", "0755", "--dir", top]
    for path in mounts.system:
        argv += ["--ro-bind", path, path]
    for path, target in mounts.links:
        argv += ["--symlink", target, path]
    for path in mounts.etc:
        argv += ["--ro-bind", path, path]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--perms", "1777", "--tmpfs", "/tmp", "--perms", "1777", "--tmpfs", "/var/tmp"]
    argv += ["--perms", "1777", "--tmpfs", "/dev/shm", "--perms", "0777", "--tmpfs", HOME]
    binds = [(p, "--ro-bind") for p in mounts.readonly] + [(p, "--bind") for p in mounts.writable]
    bound = list(mounts.system)  # everything below a bind exists already
    made = {"/tmp", "/var", "/var/tmp", "/home", HOME, "/etc", "/proc", "/dev"}
    for path, how in sorted(binds, key=lambda b: len(PurePosixPath(b[0]).parts)):
        for parent in _parents_to_make(path, made, bound):
            argv += ["--perms", "0755", "--dir", parent]
            made.add(parent)
        argv += [how, path, path]
        bound.append(path)
    for path in mounts.hidden_files:
        argv += ["--ro-bind", "/dev/null", path]
    for path in mounts.hidden_dirs:
        argv += ["--tmpfs", path, "--remount-ro", path]
    return argv


def _parents_to_make(path: str, made: set[str], bound: Iterable[str]) -> list[str]:
    """Ancestors of `path` the sandbox's root lacks; made world-readable (bwrap would copy a
    0700 host directory's mode, and nobody could then reach the checkout below it)."""
    inside = [PurePosixPath(b) for b in bound]
    parents = list(reversed(PurePosixPath(path).parents))[1:]  # without "/"
    return [
        str(p)
        for p in parents
        if str(p) not in made and not any(p.is_relative_to(b) for b in inside)
    ]


def plan_mounts(
    *,
    checkout: str,
    output: str,
    prefixes: Iterable[str],
    site_listing: Mapping[str, Sequence[str]],
    existing: Iterable[str],
    links: Mapping[str, str],
) -> Mounts:
    """The run's view of the machine.

    `prefixes`: the interpreter installations that run setup and pytest (read-only, unless under
    a system directory already shown). `site_listing`: each site-packages folder inside them and
    its entries, so the bot's own package is hidden. `existing`: the /etc entries present here.
    `links`: top-level system paths that are symlinks on this machine (`/bin` -> `usr/bin`)."""
    shown = [*SYSTEM_DIRS, checkout, output]
    readonly = tuple(dict.fromkeys(p for p in prefixes if not any(_inside(p, s) for s in shown)))
    hidden_files, hidden_dirs = _bot_entries(site_listing)
    return Mounts(
        writable=(checkout, output) if not _inside(output, checkout) else (checkout,),
        readonly=readonly,
        links=tuple(sorted(links.items())),
        etc=tuple(sorted(existing)),
        hidden_files=hidden_files,
        hidden_dirs=hidden_dirs,
    )


def _inside(path: str, folder: str) -> bool:
    return PurePosixPath(path).is_relative_to(PurePosixPath(folder))


def _bot_entries(site_listing: Mapping[str, Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    """The bot's distribution in a site-packages folder: its metadata, its editable-install hook,
    and its packages when installed as files (the bot's code is none of the tests' business)."""
    files: list[str] = []
    dirs: list[str] = []
    for site, entries in sorted(site_listing.items()):
        for entry in entries:
            name = entry.rstrip("/")
            ours = BOT_DISTRIBUTION in name.replace("-", "_") or name in BOT_PACKAGES
            if not ours:
                continue
            (dirs if entry.endswith("/") else files).append(f"{site}/{name}")
    return tuple(files), tuple(dirs)


# --- edge ---------------------------------------------------------------------------------


def host_mounts(checkout: Path, output: Path, python: str) -> Mounts:
    """Look at this machine: which /etc entries exist, how /bin is laid out, where `python` and
    the worker's own interpreter live and what their site-packages hold."""
    prefixes = [sys.prefix, sys.base_prefix, *_prefix_of(python, checkout)]
    prefixes = [str(Path(p).resolve()) for p in prefixes]
    site_listing = {}
    for prefix in dict.fromkeys(prefixes):
        for site in Path(prefix).glob("lib/python3*/site-packages"):
            site_listing[str(site)] = [e.name + "/" * e.is_dir() for e in site.iterdir()]
    existing = [f"/etc/{e}" for e in ETC_ENTRIES if os.path.lexists(f"/etc/{e}")]
    existing += [str(p) for p in Path("/etc").glob("python3*")]
    links = {p: os.readlink(p) for p in SYSTEM_TOP if os.path.islink(p)}
    mounts = plan_mounts(
        checkout=str(checkout.resolve()),
        output=str(output.resolve()),
        prefixes=prefixes,
        site_listing=site_listing,
        existing=existing,
        links=links,
    )
    real_dirs = tuple(p for p in SYSTEM_TOP if os.path.isdir(p) and not os.path.islink(p))
    return dataclasses.replace(mounts, system=(*mounts.system, *real_dirs))


def _prefix_of(python: str, checkout: Path) -> list[str]:
    """The installation of the plan's interpreter, when it lives outside the checkout."""
    found = python if os.sep in python else shutil.which(python)
    if not found:
        return []
    path = (checkout / found).resolve()
    if path.is_relative_to(checkout.resolve()):
        return []
    return [str(path.parents[1])]  # <prefix>/bin/python


def problem() -> str | None:
    """Why `GOLDEN_PATH_SANDBOX=bwrap` cannot work on this machine, or None."""
    missing = [t for t in ("bwrap", "nsenter") if shutil.which(t) is None]
    tools = ("/usr/bin/setpriv", "/usr/bin/sleep", "/usr/bin/env")
    missing += [t for t in tools if not os.access(t, os.X_OK)]
    if missing:
        return f"missing {', '.join(missing)} (install the Debian packages bubblewrap, util-linux)"
    return None


@dataclass
class Sandbox:
    """One run's sandbox: `start()` the keeper, `prepare()` each step, `close()` ends it all."""

    mounts: Mounts
    cwd: str  # where every step starts: the checkout
    privileged: bool = field(default_factory=lambda: os.geteuid() == 0)
    _keeper: subprocess.Popen[bytes] | None = None
    _pid: int = 0

    def start(self) -> None:
        if (why := problem()) is not None:
            raise SandboxError(why)
        if self.privileged:  # the writable folders belong to the uid the steps run as
            for path in self.mounts.writable:
                _chown_tree(Path(path), SANDBOX_UID)
        info, ready = os.pipe(), os.pipe()
        try:
            argv = keeper_argv(
                self.mounts,
                info_fd=info[1],
                privileged=self.privileged,
            )
            self._keeper = subprocess.Popen(
                argv,
                env={"PATH": "/usr/bin:/bin"},
                pass_fds=(info[1],),
                stdin=subprocess.DEVNULL,
                stdout=ready[1],
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            for fd in (info[1], ready[1]):
                os.close(fd)
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            found = _read_until(info[0], _child_pid, deadline)
            if found is None or _read_until(ready[0], _line, deadline) is None:
                self._failed()
            self._pid = found or 0
        finally:
            for fd in (*info, *ready):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _failed(self) -> None:
        keeper = self._keeper
        self.close()
        said = (
            keeper.stderr.read().decode(errors="replace").strip()
            if keeper and keeper.stderr
            else ""
        )
        raise SandboxError(f"bwrap did not start: {said[-300:] or 'no answer'}")

    def prepare(
        self, command: Sequence[str], env: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        """The argv and environment that run `command` inside, with a private HOME and /tmp."""
        if not self._pid:
            raise SandboxError("the sandbox is not started")
        inside = {**env, "HOME": HOME, "TMPDIR": "/tmp"}
        argv = enter_argv(self._pid, command, cwd=self.cwd, privileged=self.privileged)
        return argv, inside

    def close(self) -> None:
        """Kill the sandbox's PID 1: the kernel kills every process left in its namespace
        before PID 1 is gone, and the keeper exits once it is, so when this returns nothing the
        run started is left, `setsid` or not."""
        keeper, self._keeper = self._keeper, None
        if keeper is None:
            return
        if self._pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
        try:
            keeper.wait(timeout=CLOSE_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(keeper.pid, signal.SIGKILL)
            keeper.wait()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_until(fd: int, parse: Callable[[bytes], int | None], deadline: float) -> int | None:
    """Read `fd` until `parse` finds its answer, the writer closes it, or the deadline passes."""
    data = b""
    while (left := deadline - time.monotonic()) > 0 and select.select([fd], [], [], left)[0]:
        chunk = os.read(fd, 65536)
        data += chunk
        if (found := parse(data)) is not None:
            return found
        if not chunk:
            return None
    return None


def _child_pid(data: bytes) -> int | None:
    """bwrap's `--info-fd` JSON: the outer pid of the sandbox's PID 1."""
    try:
        return int(json.loads(data)["child-pid"])
    except (ValueError, KeyError, TypeError):
        return None


def _line(data: bytes) -> int | None:
    return 1 if data.endswith(b"\n") else None


def _chown_tree(root: Path, uid: int) -> None:
    os.lchown(root, uid, uid)
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            os.lchown(os.path.join(folder, name), uid, uid)


def isolation(mode: str) -> Callable[[Path, Path, str], contextlib.AbstractContextManager[Any]]:
    """The isolation of a `GOLDEN_PATH_SANDBOX` value: `bwrap` (the default) or `none`."""
    return processes.unsandboxed if mode == "none" else sandboxed


@contextlib.contextmanager
def sandboxed(checkout: Path, output: Path, python: str) -> Iterator[Sandbox]:
    """A started sandbox for one run over `checkout` and `output`; closed when the run ends."""
    mounts = host_mounts(checkout, output, python)
    with Sandbox(mounts, cwd=str(checkout.resolve())) as sandbox:
        yield sandbox
