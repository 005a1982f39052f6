"""`.github/golden-path.yml` text to a typed `Plan`, or `PlanError` naming file, key and reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PLAN_PATH = ".github/golden-path.yml"
PHASE_ID_RE = re.compile(r"^[a-z0-9_-]+$")

PositiveMinutes = Annotated[float, Field(gt=0)]


class FiveWhys(str, Enum):
    ISSUE = "issue"
    COMMENT = "comment"
    OFF = "off"


class MergeQueue(str, Enum):
    REUSE = "reuse"
    RUN = "run"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Criteria(_Strict):
    min_pass_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    max_p95_seconds: float | None = Field(default=None, gt=0)


class SetupStep(_Strict):
    name: str = Field(min_length=1)
    run: str = Field(min_length=1)
    timeout_minutes: PositiveMinutes = 15


class Phase(_Strict):
    id: str
    name: str = ""
    mrr_at_risk: int = Field(default=0, ge=0)
    timeout_minutes: PositiveMinutes = 15
    suites: tuple[str, ...] = Field(min_length=1)
    criteria: Criteria = Criteria()

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not PHASE_ID_RE.match(value):
            raise ValueError(f"phase id {value!r} must match [a-z0-9_-]+")
        return value

    @field_validator("suites")
    @classmethod
    def _suites_not_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not s.strip() for s in value):
            raise ValueError("suite paths must not be empty")
        return value

    @property
    def title(self) -> str:
        return self.name or self.id


class Plan(_Strict):
    check_name: str = Field(default="Golden Path P0", min_length=1)
    environment: str = Field(default="staging", min_length=1)
    fail_fast: bool = True
    timeout_minutes: PositiveMinutes = 60
    auto_run: bool = False
    five_whys: FiveWhys = FiveWhys.ISSUE
    merge_queue: MergeQueue = MergeQueue.REUSE
    python: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    pass_env: tuple[str, ...] = ()
    setup: tuple[SetupStep, ...] = ()
    phases: tuple[Phase, ...] = Field(min_length=1)

    @field_validator("env", mode="before")
    @classmethod
    def _env_values_are_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): v if isinstance(v, str) else _scalar_text(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _unique_phase_ids(self) -> Plan:
        seen: set[str] = set()
        for phase in self.phases:
            if phase.id in seen:
                raise ValueError(f"duplicate phase id {phase.id!r}")
            seen.add(phase.id)
        return self

    @property
    def phase_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.phases)

    def select(self, phase_ids: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
        """The selected ids in plan order; every id when none are named.

        Raises `UnknownPhases` naming the ids the plan lacks."""
        if not phase_ids:
            return self.phase_ids
        unknown = [p for p in phase_ids if p not in self.phase_ids]
        if unknown:
            raise UnknownPhases(tuple(unknown), self.phase_ids)
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


def parse(text: str, file: str = PLAN_PATH) -> Plan:
    """Parse plan text; raise `PlanError` with every problem found."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
        reason = getattr(exc, "problem", None) or str(exc)
        raise PlanError([PlanProblem(file, where, f"invalid YAML: {reason}")]) from None
    if data is None:
        raise PlanError([PlanProblem(file, "(document)", "the file is empty")])
    if not isinstance(data, dict):
        raise PlanError([PlanProblem(file, "(document)", "expected a mapping of keys")])
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError([_problem(file, err) for err in exc.errors()]) from None


def _problem(file: str, err: Any) -> PlanProblem:
    key = ".".join(str(part) for part in err["loc"]) or "(document)"
    key = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", key)
    reason = err["msg"]
    if err["type"] == "extra_forbidden":
        reason = "unknown key"
    elif err["type"] == "missing":
        reason = "required key is missing"
    reason = reason.removeprefix("Value error, ")
    return PlanProblem(file, key, reason)
