"""What a run leaves on disk, and the sweep that removes whatever a dead run left.

Layout under the (absolute) `GOLDEN_PATH_WORKDIR`:
    checkouts/<run_id>/            the work tree; removed when the run is published
    checkouts/<run_id>~<shard>/    a shard's own work tree (`shards: N`), on whichever worker
    artifacts/<run_id>/            logs and JUnit XML while the run goes on; removed when published
    junit/<repo>/<run_id>/*.xml    the JUnit XML kept of the last runs of a repository

The sweep runs when a worker starts and in every reconcile pass: it removes the folders of runs
that are no longer running, trims the kept JUnit files to their count and byte bounds, and keeps
the whole workdir under its byte bound by removing the oldest run folders first.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

RUN_FOLDERS = ("checkouts", "artifacts")
SHARD_MARK = "~"  # `<run_id>~<shard>`: a shard's folder belongs to its run


def run_of(folder_name: str) -> str:
    """The run a run folder belongs to (its own, or the run of a shard's folder)."""
    return folder_name.split(SHARD_MARK, 1)[0]


JUNIT = "junit"


@dataclass(frozen=True)
class DiskLimits:
    max_bytes: int = 4 * 1024**3
    junit_keep_runs: int = 10
    junit_keep_bytes: int = 64 * 1024**2


def size_of(path: Path) -> int:
    """Bytes under `path` (files only; a file vanishing meanwhile counts 0)."""
    if path.is_file():
        return _file_size(path)
    return sum(_file_size(p) for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _file_size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def remove(path: Path) -> bool:
    """Remove a run folder; True when it is gone (a failure is logged, never raised)."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return True
    except OSError as error:
        log.warning("could not remove %s: %s", path, error)
        # rmtree stops at the first error: remove what still can be, leave the rest for next time
        shutil.rmtree(path, ignore_errors=True)
        return not path.exists()
    return True


def keep_junit(workdir: Path, repo: str, run_id: str, files: Iterable[Path]) -> None:
    """Keep a finished run's JUnit XML for the dashboard (trimmed by `sweep`)."""
    dest = workdir / JUNIT / repo.replace("/", "__") / run_id
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for source in files:
            shutil.copyfile(source, dest / source.name)
    except OSError as error:
        log.warning("could not keep the JUnit files of run %s: %s", run_id, error)
        remove(dest)


def keep_output(workdir: Path, repo: str, run_id: str, output: Path) -> None:
    """Keep what a run's tests left in their output folder (screenshots, dumps) beside its JUnit
    files: bounded by the same count and bytes (`sweep`)."""
    dest = workdir / JUNIT / repo.replace("/", "__") / run_id / "output"
    try:
        if output.is_dir() and any(output.iterdir()):
            shutil.copytree(output, dest, dirs_exist_ok=True)
    except OSError as error:
        log.warning("could not keep the output of run %s: %s", run_id, error)


def release_run(workdir: Path, run_id: str) -> None:
    """Remove a run's checkout and artifacts (each step on its own: one failing does not keep
    the other)."""
    for folder in RUN_FOLDERS:
        remove(workdir / folder / run_id)


def sweep(workdir: Path, is_running: Callable[[str], bool], limits: DiskLimits) -> list[Path]:
    """Remove what dead or finished runs left; returns the folders removed."""
    removed = []
    for folder in RUN_FOLDERS:
        for path in _children(workdir / folder):
            if not is_running(run_of(path.name)) and remove(path):
                removed.append(path)
    removed += _trim_junit(workdir / JUNIT, limits)
    removed += _trim_total(workdir, limits.max_bytes)
    return removed


def _children(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir()]
    except OSError:
        return []


def _trim_junit(root: Path, limits: DiskLimits) -> list[Path]:
    removed = []
    for repo in _children(root):
        runs = sorted(_children(repo), key=_mtime, reverse=True)
        for old in runs[limits.junit_keep_runs :]:
            if remove(old):
                removed.append(old)
    kept = sorted((r for repo in _children(root) for r in _children(repo)), key=_mtime)
    total = sum(size_of(r) for r in kept)
    while kept and total > limits.junit_keep_bytes:
        oldest = kept.pop(0)
        total -= size_of(oldest)
        if remove(oldest):
            removed.append(oldest)
    return removed


def _trim_total(workdir: Path, max_bytes: int) -> list[Path]:
    """Kept JUnit folders, oldest first, until the workdir fits (running runs' folders are never
    touched: when they alone pass the bound, that is logged)."""
    candidates = sorted(
        (r for repo in _children(workdir / JUNIT) for r in _children(repo)), key=_mtime
    )
    total = size_of(workdir) if workdir.exists() else 0
    removed: list[Path] = []
    while candidates and total > max_bytes:
        oldest = candidates.pop(0)
        size = size_of(oldest)
        if remove(oldest):
            total -= size
            removed.append(oldest)
    if total > max_bytes:
        log.warning("workdir: %d bytes in running runs alone (bound %d)", total, max_bytes)
    return removed
