"""The bot's own variables are one list (`bot.core.plan.RESERVED_ENV_NAMES`), and it agrees with
`bot.settings`: every secret the bot reads is reserved, so no plan can set, copy or be handed it."""

from __future__ import annotations

import pytest
from pydantic import AliasChoices, SecretStr

from bot.core.plan import RESERVED_ENV_NAMES, is_reserved
from bot.settings import Settings


def _aliases(name: str) -> list[str]:
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [str(alias)] if alias else [name.upper()]


SECRET_SETTINGS = sorted(
    name
    for name, info in Settings.model_fields.items()
    if SecretStr in getattr(info.annotation, "__args__", (info.annotation,))
)


def test_settings_have_secrets_to_check() -> None:
    assert "github_private_key" in SECRET_SETTINGS and "metrics_token" in SECRET_SETTINGS


@pytest.mark.parametrize("name", SECRET_SETTINGS)
def test_every_secret_setting_is_reserved(name: str) -> None:
    assert [alias for alias in _aliases(name) if not is_reserved(alias)] == []


@pytest.mark.parametrize(
    "name", ["GITHUB_APP_ID", "GITHUB_PRIVATE_KEY_PATH", "REDIS_URL", "GOLDEN_PATH_SECRETS"]
)
def test_the_bot_s_other_own_variables_are_reserved(name: str) -> None:
    assert name in RESERVED_ENV_NAMES


@pytest.mark.parametrize("name", ["github_private_key", "Redis_Url", "GH_TOKEN"])
def test_reserved_whatever_the_case(name: str) -> None:
    assert is_reserved(name)


@pytest.mark.parametrize("name", ["E2E_KEY", "GITHUB_SHA", "PATH"])
def test_not_reserved(name: str) -> None:
    assert not is_reserved(name)
