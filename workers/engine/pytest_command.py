"""The pytest command line of a phase, and the environment that makes the bot's result-stream
plugin importable in the process under test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

PLUGIN = Path(__file__).with_name("plugin") / "golden_path_stream.py"


def plugin_env(env: Mapping[str, str], output: Path) -> dict[str, str]:
    """The test environment with the bot's pytest plugin importable. The plugin is copied into
    the run's output folder, the one place besides the checkout a sandboxed test can see; once,
    before the run's own code starts (afterwards the folder is the tests' to tamper with)."""
    folder = output / "plugin"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PLUGIN, folder / PLUGIN.name)
    existing = env.get("PYTHONPATH")
    return {**env, "PYTHONPATH": f"{folder}{os.pathsep}{existing}" if existing else str(folder)}


def pytest_argv(
    python: str, suites: Sequence[str], junit_path: Path, stream_path: Path
) -> list[str]:
    return [
        python,
        "-m",
        "pytest",
        *suites,
        "--junitxml",
        str(junit_path),
        "-o",
        "junit_family=xunit1",
        "-p",
        "no:cacheprovider",
        "-p",
        "golden_path_stream",
        f"--golden-path-stream={stream_path}",
        "-q",
    ]
