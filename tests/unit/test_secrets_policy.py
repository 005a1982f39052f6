"""`GOLDEN_PATH_SECRETS` is the only source of `pass_env` values (bot/core/secrets_policy.py)."""

from __future__ import annotations

import pytest

from bot.core.plan import parse_plan
from bot.core.secrets_policy import SecretsAllowList, pass_env_problems

REPO = "acme/app"
CASES = [
    # (name, GOLDEN_PATH_SECRETS, pass_env, names refused)
    ("nothing allowed, nothing asked", "", [], []),
    ("nothing allowed: any pass_env is refused", "", ["E2E_KEY"], ["E2E_KEY"]),
    ("a name allowed everywhere", "E2E_KEY", ["E2E_KEY"], []),
    (
        "only the names listed",
        "E2E_KEY",
        ["E2E_KEY", "AWS_SECRET_ACCESS_KEY"],
        ["AWS_SECRET_ACCESS_KEY"],
    ),
    ("spaces and empty entries are ignored", " E2E_KEY , ,OTHER ", ["E2E_KEY", "OTHER"], []),
    ("names are case-sensitive, as environment variables are", "E2E_KEY", ["e2e_key"], ["e2e_key"]),
    ("owner/repo:NAME allows NAME for that repository", "acme/app:STRIPE_KEY", ["STRIPE_KEY"], []),
    ("repository names compare without case", "Acme/App:STRIPE_KEY", ["STRIPE_KEY"], []),
    (
        "owner/repo:NAME is not for another repository",
        "acme/other:STRIPE_KEY",
        ["STRIPE_KEY"],
        ["STRIPE_KEY"],
    ),
    (
        "reserved names in the setting allow nothing",
        "REDIS_URL,GITHUB_TOKEN",
        ["E2E_KEY"],
        ["E2E_KEY"],
    ),
]


@pytest.mark.parametrize(("name", "setting", "asked", "refused"), CASES, ids=[c[0] for c in CASES])
def test_pass_env_allow_list(name: str, setting: str, asked: list[str], refused: list[str]) -> None:
    plan = parse_plan(f"pass_env: {asked}\nphases: [{{id: a, suites: [t]}}]\n")
    problems = pass_env_problems(plan, SecretsAllowList.parse(setting), REPO)
    assert [str(p) for p in problems] == [
        f".github/golden-path.yml: pass_env: {n}: not allowed by GOLDEN_PATH_SECRETS"
        for n in refused
    ]


RESERVED = ["REDIS_URL", "redis_url", "GitHub_Private_Key", "acme/app:GITHUB_WEBHOOK_SECRET"]


@pytest.mark.parametrize("entry", RESERVED)
def test_reserved_names_stay_out_whatever_the_setting_says(entry: str) -> None:
    allowed = SecretsAllowList.parse(entry)
    assert allowed == SecretsAllowList()
    assert not allowed.allows(REPO, entry.rpartition(":")[2])
