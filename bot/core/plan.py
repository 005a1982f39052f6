"""`.github/golden-path.yml` text to a typed `Plan`, or `PlanError` naming file, key and reason."""

from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from bot.core import plan_yaml

PLAN_PATH = ".github/golden-path.yml"
PHASE_ID_RE = re.compile(r"^[a-z0-9_-]+$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# The one list of the bot's own variables (contract §1, §5.2): a plan may neither set nor copy
# them, and the worker never hands them to a test process. Compared without regard to case
# (`is_reserved`): environment names are case-sensitive, but `github_private_key` is no less
# a key for it.
RESERVED_ENV_NAMES = frozenset(
    {
        "GITHUB_APP_ID",
        "GITHUB_PRIVATE_KEY",
        "GITHUB_PRIVATE_KEY_PATH",
        "GITHUB_WEBHOOK_SECRET",
        "GITHUB_CLIENT_SECRET",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "REDIS_URL",
        "GOLDEN_PATH_SECRETS",
        "GOLDEN_PATH_SESSION_SECRET",
        "GOLDEN_PATH_LINK_SECRET",
        "GOLDEN_PATH_METRICS_TOKEN",
    }
)


def is_reserved(name: str) -> bool:
    return name.upper() in RESERVED_ENV_NAMES


_MAX_INPUT_SHOWN = 60
MAX_PHASES = 50
MAX_SUITES = 100
MAX_SHARDS = 16  # `shards`: a phase's test files split across this many Celery tasks at most


def shown(value: Any, limit: int = _MAX_INPUT_SHOWN) -> str:
    """A short `repr` of an untrusted value, bounded while it is built (`reprlib` looks at a few
    items and characters only), never a full `repr` cut afterwards: a huge input costs nothing
    to mention."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, _MAX_INPUT_SHOWN, _MAX_INPUT_SHOWN
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6

PositiveMinutes = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
Rate = Annotated[float, Field(strict=True, ge=0.0, le=1.0, allow_inf_nan=False)]
Seconds = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]


def _env_name(value: str) -> str:
    if not ENV_NAME_RE.match(value):
        raise ValueError(f"{shown(value)} is not a valid environment variable name")
    if is_reserved(value):
        raise ValueError(f"{value} is reserved for the bot and is never given to tests")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _suite(value: str) -> str:
    """A pytest path or node id inside the checkout: not absolute, no `..`, not an option."""
    path = value.split("::", 1)[0]
    if value.startswith("-"):
        raise ValueError(f"{shown(value)} starts with '-' (pytest would take it as an option)")
    if path.startswith(("/", "~", "\\")):
        raise ValueError(f"{shown(value)} is an absolute path; suites are inside the checkout")
    if ".." in PurePosixPath(path.replace("\\", "/")).parts or "\0" in value:
        raise ValueError(f"{shown(value)} leaves the checkout ('..'); suites stay inside it")
    return value


EnvName = Annotated[StrictStr, AfterValidator(_env_name)]
NonBlank = Annotated[StrictStr, AfterValidator(_not_blank)]
Suite = Annotated[StrictStr, AfterValidator(_not_blank), AfterValidator(_suite)]


def _environment_name(value: str) -> str:
    if len(value) > 255:  # GitHub's own limit on an environment's name
        raise ValueError("an environment name has at most 255 characters")
    return value


EnvironmentName = Annotated[NonBlank, AfterValidator(_environment_name)]
MAX_DEPLOYMENTS = 50


class FiveWhys(StrEnum):
    ISSUE = "issue"
    COMMENT = "comment"
    OFF = "off"


class FlakyPolicy(StrEnum):
    """How a test that failed, then passed on a retry, counts."""

    FAIL = "fail"
    PASS = "pass"


class MergeQueue(StrEnum):
    REUSE = "reuse"
    RUN = "run"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Criteria(_Strict):
    min_pass_rate: Rate = 1.0
    max_p95_seconds: Seconds | None = None


class SetupStep(_Strict):
    name: NonBlank
    run: NonBlank
    timeout_minutes: PositiveMinutes = 15


class Phase(_Strict):
    id: StrictStr
    name: StrictStr = ""
    mrr_at_risk: Annotated[StrictInt, Field(ge=0)] = 0
    timeout_minutes: PositiveMinutes = 15
    retries: Annotated[StrictInt, Field(ge=0, le=3)] = 0
    suites: tuple[Suite, ...] = Field(min_length=1, max_length=MAX_SUITES)
    criteria: Criteria = Criteria()
    # Not in the contract (an addition): split the phase's test files across this many tasks
    # that any runs worker may take (`workers/job/shards.py`); 1 runs the phase as one pytest.
    shards: Annotated[StrictInt, Field(ge=1, le=MAX_SHARDS)] = 1

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not PHASE_ID_RE.match(value):
            raise ValueError(f"phase id {shown(value)} must match [a-z0-9_-]+")
        return value

    @property
    def title(self) -> str:
        return self.name or self.id


# The check run's name when the plan names none, or when there is no plan to read.
DEFAULT_CHECK_NAME = "Golden Path P0"


class Plan(_Strict):
    check_name: NonBlank = DEFAULT_CHECK_NAME
    environment: NonBlank = "staging"
    fail_fast: StrictBool = True
    timeout_minutes: PositiveMinutes = 60
    auto_run: StrictBool = False
    five_whys: FiveWhys = FiveWhys.ISSUE
    merge_queue: MergeQueue = MergeQueue.REUSE
    flaky: FlakyPolicy = FlakyPolicy.FAIL
    python: NonBlank | None = None
    env: dict[EnvName, StrictStr] = Field(default_factory=dict)
    pass_env: tuple[EnvName, ...] = ()
    # GitHub environments whose deployments this plan gates (contract §6, deployment gate).
    deployments: tuple[EnvironmentName, ...] = Field(default=(), max_length=MAX_DEPLOYMENTS)
    tracking_issue: StrictBool = False  # one live issue per environment (contract §6)
    setup: tuple[SetupStep, ...] = ()
    phases: tuple[Phase, ...] = Field(min_length=1, max_length=MAX_PHASES)

    @field_validator("env", mode="before")
    @classmethod
    def _env_values_are_text(cls, value: Any) -> Any:
        # YAML turns `PORT: 8080` into an int; the environment only holds text.
        if isinstance(value, dict):
            return {k: _scalar_text(v) for k, v in value.items()}
        return value

    @field_validator("deployments")
    @classmethod
    def _unique_deployments(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        # GitHub compares environment names without regard to case.
        seen: set[str] = set()
        for name in names:
            if name.casefold() in seen:
                raise ValueError(f"environment {name!r} is listed twice")
            seen.add(name.casefold())
        return names

    def gates(self, environment: str) -> bool:
        """Whether deployments to `environment` wait for the golden path."""
        return environment.casefold() in {name.casefold() for name in self.deployments}

    @field_validator("phases")
    @classmethod
    def _unique_phase_ids(cls, phases: tuple[Phase, ...]) -> tuple[Phase, ...]:
        first: dict[str, int] = {}
        for index, phase in enumerate(phases):
            if phase.id in first:
                raise PydanticCustomError(
                    "duplicate_phase_id",
                    "duplicate phase id '{id}' (first used by phases[{first}])",
                    {"id": phase.id, "first": first[phase.id], "index": index},
                )
            first[phase.id] = index
        return phases

    @property
    def phase_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.phases)

    def phase(self, phase_id: str) -> Phase:
        return next(p for p in self.phases if p.id == phase_id)

    def select(self, phase_ids: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
        """The selected ids in plan order; every id when none are named.

        Raises `UnknownPhases` naming the ids the plan lacks."""
        if not phase_ids:
            return self.phase_ids
        unknown = tuple(dict.fromkeys(p for p in phase_ids if p not in self.phase_ids))
        if unknown:
            raise UnknownPhases(unknown, self.phase_ids)
        wanted = set(phase_ids)
        return tuple(p for p in self.phase_ids if p in wanted)


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


@dataclass(frozen=True)
class PlanProblem:
    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.reason}"


class PlanError(Exception):
    """A plan that cannot be used; `problems` says exactly what is wrong."""

    def __init__(self, problems: list[PlanProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UnknownPhases(Exception):
    def __init__(self, unknown: tuple[str, ...], known: tuple[str, ...]):
        self.unknown = unknown
        self.known = known
        super().__init__(
            f"unknown phase id(s): {', '.join(unknown)}; the plan has: {', '.join(known)}"
        )


def parse_plan(text: str, file: str = PLAN_PATH) -> Plan:
    """Parse plan text; raise `PlanError` with every problem found.

    The text is untrusted (any pull request's, forks' too): its cost is bounded by
    `plan_yaml`'s caps, and every problem quotes at most a short cut of what it got."""
    try:
        data = plan_yaml.load(text)
    except plan_yaml.YamlLimitError as exc:
        raise PlanError([PlanProblem(file, exc.where, exc.reason)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
        reason = getattr(exc, "problem", None) or str(exc)[:200]
        raise PlanError([PlanProblem(file, where, f"invalid YAML: {reason}")]) from None
    except ValueError as exc:  # a constructor's own limit (an int of too many digits)
        problem = PlanProblem(file, "(document)", f"invalid YAML value: {str(exc)[:200]}")
        raise PlanError([problem]) from None
    if data is None:
        raise PlanError([PlanProblem(file, "(document)", "the file is empty")])
    if not isinstance(data, dict):
        raise PlanError([PlanProblem(file, "(document)", "expected a mapping of keys")])
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        errors = _without_consequential(exc.errors())
        raise PlanError([_problem(file, err) for err in errors]) from None


def _without_consequential(errors: list[Any]) -> list[Any]:
    """Drop "should have at least 1 item" on a list whose items were themselves invalid.

    Pydantic drops invalid items before checking the length, so one bad phase would also
    report "phases: Tuple should have at least 1 item", which is noise."""
    locs = [tuple(e["loc"]) for e in errors]

    def has_inner(loc: tuple[Any, ...]) -> bool:
        return any(other[: len(loc)] == loc and len(other) > len(loc) for other in locs)

    return [e for e in errors if not (e["type"] == "too_short" and has_inner(tuple(e["loc"])))]


_REASONS = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
}


def _problem(file: str, err: Any) -> PlanProblem:
    loc = list(err["loc"])
    if err["type"] == "duplicate_phase_id":
        loc = ["phases", err["ctx"]["index"], "id"]
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
    return PlanProblem(file, _key_path(loc), _reason(err))


def _key_path(loc: list[Any]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(document)"


def _reason(err: Any) -> str:
    kind = err["type"]
    if kind in _REASONS:
        return _REASONS[kind]
    reason = str(err["msg"]).removeprefix("Value error, ").replace("valid tuple", "valid list")
    reason = reason.replace("Tuple should", "List should")  # YAML has lists, not tuples
    if kind == "too_short":
        return "must not be empty"
    if kind == "too_long":
        return f"at most {err.get('ctx', {}).get('max_length')} items"
    if kind.endswith("_type") or kind in ("enum", "literal_error"):
        reason = f"{reason} (got {shown(err.get('input'))})"
    return reason


def check_name_of(plan: Plan | PlanError | None) -> str:
    """The check run's name for what reading the plan gave: the plan's own, else the default
    (no plan file, or one that cannot be used)."""
    return plan.check_name if isinstance(plan, Plan) else DEFAULT_CHECK_NAME
