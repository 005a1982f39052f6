"""Which worker variables a plan may have copied into its tests (`GOLDEN_PATH_SECRETS`).

A plan comes from a pull request, so anyone who can open one could name any variable of the
worker in `pass_env` (`AWS_SECRET_ACCESS_KEY`). The operator's allow-list is the only source of
`pass_env` values: a comma-separated list of names, each allowed for every repository, or
`owner/repo:NAME`, allowed for that repository only. The bot's own variables are never allowed,
whatever the list says, compared without regard to case (`github_private_key` is the key too).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.plan import PLAN_PATH, Plan, PlanProblem, is_reserved

NOT_ALLOWED = "not allowed by GOLDEN_PATH_SECRETS"


@dataclass(frozen=True)
class SecretsAllowList:
    everywhere: frozenset[str] = frozenset()
    per_repo: frozenset[tuple[str, str]] = frozenset()  # (owner/repo lowercased, NAME)

    @classmethod
    def parse(cls, text: str | None) -> SecretsAllowList:
        """`"E2E_KEY, acme/app:STRIPE_TEST_KEY"`; blanks and reserved names are dropped."""
        everywhere: set[str] = set()
        per_repo: set[tuple[str, str]] = set()
        for entry in (e.strip() for e in (text or "").split(",")):
            repo, _, name = entry.rpartition(":")
            name = name.strip()
            if not name or is_reserved(name):
                continue
            if repo:
                per_repo.add((repo.strip().lower(), name))
            else:
                everywhere.add(name)
        return cls(frozenset(everywhere), frozenset(per_repo))

    def allows(self, repo: str, name: str) -> bool:
        if is_reserved(name):
            return False
        return name in self.everywhere or (repo.lower(), name) in self.per_repo


def pass_env_problems(
    plan: Plan, allowed: SecretsAllowList, repo: str, file: str = PLAN_PATH
) -> list[PlanProblem]:
    """One problem per `pass_env` name the operator has not allowed for `repo`."""
    return [
        PlanProblem(file, "pass_env", f"{name}: {NOT_ALLOWED}")
        for name in plan.pass_env
        if not allowed.allows(repo, name)
    ]
