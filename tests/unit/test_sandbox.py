"""The sandbox's command builders (workers/engine/sandbox.py), as tables: pure, no processes."""

from __future__ import annotations

import pytest

from bot.core.report.check_output import render_check_output
from bot.core.results import Conclusion, RunReport
from bot.settings import Settings
from workers.engine import processes, sandbox

SITE = "/srv/venv/lib/python3.11/site-packages"


def mounts(**overrides: object) -> sandbox.Mounts:
    values: dict[str, object] = {
        "checkout": "/var/gp/checkouts/r1",
        "output": "/var/gp/artifacts/r1/output",
        "prefixes": ["/srv/venv", "/usr"],
        "site_listing": {SITE: ["pytest/", "httpx/", "bot/", "workers/", "six.py"]},
        "existing": ["/etc/resolv.conf"],
        "links": {"/bin": "usr/bin"},
    }
    values.update(overrides)
    return sandbox.plan_mounts(**values)  # type: ignore[arg-type]


PLAN_CASES = [
    (
        "checkout and output writable, the interpreter read-only",
        mounts(),
        {
            "writable": ("/var/gp/checkouts/r1", "/var/gp/artifacts/r1/output"),
            "readonly": ("/srv/venv",),
        },
    ),
    (
        "an interpreter under /usr is already shown",
        mounts(prefixes=["/usr/lib/python3"]),
        {"readonly": ()},
    ),
    (
        "an output folder inside the checkout is one bind",
        mounts(output="/var/gp/checkouts/r1/out"),
        {"writable": ("/var/gp/checkouts/r1",)},
    ),
    (
        "the bot's own packages are hidden, third-party ones are not",
        mounts(),
        {"hidden_dirs": (f"{SITE}/bot", f"{SITE}/workers"), "hidden_files": ()},
    ),
    (
        "an editable install's hook and metadata are hidden",
        mounts(
            site_listing={
                SITE: [
                    "__editable__.golden_path_bot-0.1.0.pth",
                    "__editable___golden_path_bot_0_1_0_finder.py",
                    "golden_path_bot-0.1.0.dist-info/",
                    "pytest/",
                ]
            }
        ),
        {
            "hidden_files": (
                f"{SITE}/__editable__.golden_path_bot-0.1.0.pth",
                f"{SITE}/__editable___golden_path_bot_0_1_0_finder.py",
            ),
            "hidden_dirs": (f"{SITE}/golden_path_bot-0.1.0.dist-info",),
        },
    ),
    (
        "/etc shows only the entries asked for, /bin as the link it is",
        mounts(),
        {"etc": ("/etc/resolv.conf",), "links": (("/bin", "usr/bin"),)},
    ),
]


@pytest.mark.parametrize(
    ("name", "planned", "expected"), PLAN_CASES, ids=[c[0] for c in PLAN_CASES]
)
def test_plan_mounts(name: str, planned: sandbox.Mounts, expected: dict[str, object]) -> None:
    for field, value in expected.items():
        assert getattr(planned, field) == value, field


def _pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_keeper_isolates_pid_mount_ipc_uts_and_dies_with_its_parent() -> None:
    argv = sandbox.keeper_argv(mounts(), info_fd=5, privileged=True)
    for flag in ("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"):
        assert flag in argv
    assert "--new-session" in argv and "--unshare-net" not in argv  # tests reach staging
    assert ("/usr", "/usr") in _pairs(argv, "--ro-bind")
    assert ("/srv/venv", "/srv/venv") in _pairs(argv, "--ro-bind")
    assert ("/var/gp/checkouts/r1", "/var/gp/checkouts/r1") in _pairs(argv, "--bind")
    assert ("/dev/null", f"{SITE}/bot") not in _pairs(argv, "--ro-bind")
    assert argv[argv.index(f"{SITE}/bot") - 1] == "--tmpfs"
    tmpfs = [argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs"]
    assert {"/tmp", sandbox.HOME} <= set(tmpfs)
    assert "--setenv" not in argv  # environment never travels on a command line


def test_keeper_binds_parents_before_children_and_makes_missing_folders_readable() -> None:
    argv = sandbox.keeper_argv(mounts(), info_fd=5, privileged=True)
    made = [argv[i + 1] for i, a in enumerate(argv) if a == "--dir"]
    assert made.index("/var/gp") < made.index("/var/gp/checkouts")
    assert "/var/gp/checkouts/r1" not in made  # a bind target, not an empty folder
    for i in (i for i, a in enumerate(argv) if a == "--dir"):
        assert argv[i - 2 : i] == ["--perms", "0755"]


@pytest.mark.parametrize("privileged", [True, False])
def test_unprivileged_uid_either_way(privileged: bool) -> None:
    keeper = sandbox.keeper_argv(mounts(), info_fd=5, privileged=privileged)
    step = sandbox.enter_argv(42, ["pytest", "-q"], cwd="/co", privileged=privileged)
    assert step[-2:] == ["pytest", "-q"]
    assert "--chdir=/co" in step
    if privileged:  # real root: no user namespace; setpriv drops to nobody for good
        assert "--unshare-user" not in keeper
        for argv in (keeper, step):
            i = argv.index("/usr/bin/setpriv")
            assert argv[i + 1 : i + 5] == ["--reuid", "65534", "--regid", "65534"]
            assert "--no-new-privs" in argv[i:]
    else:  # an ordinary user: nobody inside a user namespace, no further namespaces
        assert keeper[keeper.index("--uid") + 1] == "65534"
        assert "--disable-userns" in keeper
        assert "--user" in step


def test_sandbox_setting_defaults_to_bwrap_and_none_is_said_on_every_check_run() -> None:
    assert Settings().sandbox == "bwrap"
    assert Settings(GOLDEN_PATH_SANDBOX="none").sandbox == "none"  # type: ignore[call-arg]
    assert sandbox.isolation("bwrap") is sandbox.sandboxed
    assert sandbox.isolation("none") is processes.unsandboxed
    report = RunReport(check_name="Golden Path P0", phases=(), conclusion=Conclusion.FAILURE)
    assert "Not sandboxed" not in render_check_output(report).summary
    unsandboxed = RunReport(
        check_name="Golden Path P0", phases=(), conclusion=Conclusion.FAILURE, sandboxed=False
    )
    assert "Not sandboxed" in render_check_output(unsandboxed).summary
