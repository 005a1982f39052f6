"""What runs leave on disk: removed when published, swept when their worker died, bounded."""

from __future__ import annotations

import os
from pathlib import Path

from workers import disk
from workers.disk import DiskLimits


def put(path: Path, size: int, age: float = 0.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    if age:
        for p in (path, path.parent):
            stamp = os.stat(p).st_mtime - age
            os.utime(p, (stamp, stamp))
    return path


def test_release_run_removes_checkout_and_artifacts(tmp_path: Path) -> None:
    put(tmp_path / "checkouts" / "r1" / "a.py", 10)
    put(tmp_path / "artifacts" / "r1" / "junit.xml", 10)
    put(tmp_path / "checkouts" / "r2" / "a.py", 10)
    disk.release_run(tmp_path, "r1")
    assert not (tmp_path / "checkouts" / "r1").exists()
    assert not (tmp_path / "artifacts" / "r1").exists()
    assert (tmp_path / "checkouts" / "r2").exists()
    disk.release_run(tmp_path, "never-existed")  # nothing to do is fine


def test_sweep_removes_what_dead_runs_left_and_keeps_running_ones(tmp_path: Path) -> None:
    for run in ("dead", "live", "live~all-2-ab12", "dead~all-1-cd34"):
        put(tmp_path / "checkouts" / run / "f", 5)
        put(tmp_path / "artifacts" / run / "f", 5)
    removed = disk.sweep(tmp_path, {"live"}.__contains__, DiskLimits())
    shard = "dead~all-1-cd34"
    assert sorted(p.name for p in removed) == ["dead", "dead", shard, shard]
    assert (tmp_path / "checkouts" / "live").exists() and (tmp_path / "artifacts" / "live").exists()
    assert (tmp_path / "checkouts" / "live~all-2-ab12").exists()  # a running run's shard


def test_kept_junit_is_bounded_in_runs_per_repository_and_bytes(tmp_path: Path) -> None:
    for i in range(5):
        source = put(tmp_path / "src" / f"{i}.xml", 100)
        disk.keep_junit(tmp_path, "acme/shop", f"run{i}", [source])
        put(tmp_path / "junit" / "acme__shop" / f"run{i}" / f"{i}.xml", 100, age=100 - i)
    disk.sweep(tmp_path, lambda _: False, DiskLimits(junit_keep_runs=3, junit_keep_bytes=10**6))
    kept = sorted(p.name for p in (tmp_path / "junit" / "acme__shop").iterdir())
    assert kept == ["run2", "run3", "run4"]  # the newest three
    disk.sweep(tmp_path, lambda _: False, DiskLimits(junit_keep_runs=3, junit_keep_bytes=250))
    kept = sorted(p.name for p in (tmp_path / "junit" / "acme__shop").iterdir())
    assert kept == ["run3", "run4"]  # 200 bytes fit, 300 did not


def test_the_workdir_bound_removes_oldest_first_never_a_running_run(tmp_path: Path) -> None:
    put(tmp_path / "junit" / "a__b" / "old" / "x.xml", 400, age=50)
    put(tmp_path / "junit" / "a__b" / "new" / "x.xml", 400, age=10)
    put(tmp_path / "checkouts" / "live" / "big", 600)
    disk.sweep(tmp_path, {"live"}.__contains__, DiskLimits(max_bytes=1200))
    assert not (tmp_path / "junit" / "a__b" / "old").exists()
    assert (tmp_path / "junit" / "a__b" / "new").exists()
    disk.sweep(tmp_path, {"live"}.__contains__, DiskLimits(max_bytes=100))
    assert (tmp_path / "checkouts" / "live" / "big").exists()  # a running run is never touched


def test_a_missing_workdir_is_no_error(tmp_path: Path) -> None:
    assert disk.sweep(tmp_path / "nothing", lambda _: False, DiskLimits()) == []
