"""A run's folders on the worker: its checkout and its artifacts, gone when the run ends, save
the JUnit reports and output folder a published run keeps (`workers.disk`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workers import disk


@dataclass(frozen=True)
class Workspace:
    workdir: Path
    repo: str
    run_id: str

    @property
    def checkout_dir(self) -> Path:
        return self.workdir / "checkouts" / self.run_id

    @property
    def artifacts(self) -> Path:
        return self.workdir / "artifacts" / self.run_id

    def remove_checkout(self) -> None:
        disk.remove(self.checkout_dir)

    def keep_results_and_remove_artifacts(self, *, keep: bool) -> None:
        """`keep`: the run's JUnit reports and output folder outlive it (for its run page);
        an attempt that lost its run to another keeps nothing."""
        if keep and self.artifacts.is_dir():
            junit = sorted(self.artifacts.rglob("junit-*.xml"))
            disk.keep_junit(self.workdir, self.repo, self.run_id, junit)
            disk.keep_output(self.workdir, self.repo, self.run_id, self.artifacts / "output")
        disk.remove(self.artifacts)
