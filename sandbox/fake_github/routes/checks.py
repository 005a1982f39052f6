"""Check runs: create, read, update, their annotations, and the runs on a commit."""

from __future__ import annotations

from typing import Any

from sandbox.fake_github.bodies.checks import annotation_json
from sandbox.fake_github.http import Ctx, Reply, paginate
from sandbox.fake_github.render import check_run_body


def _check_run_reply(ctx: Ctx, run: dict[str, Any], status: int = 200) -> Reply:
    return Reply(check_run_body(ctx.state, ctx.app_info, ctx.base, run), status)


def create_check_run(ctx: Ctx) -> Reply:
    run = ctx.state.create_check_run(ctx.repo, ctx.json_object())
    return _check_run_reply(ctx, run, 201)


def get_check_run(ctx: Ctx) -> Reply:
    return _check_run_reply(ctx, ctx.state.check_run(ctx.repo, ctx.int_param("run_id")))


def update_check_run(ctx: Ctx) -> Reply:
    run = ctx.state.update_check_run(ctx.repo, ctx.int_param("run_id"), ctx.json_object())
    return _check_run_reply(ctx, run)


def list_annotations(ctx: Ctx) -> Reply:
    run = ctx.state.check_run(ctx.repo, ctx.int_param("run_id"))
    return paginate(ctx, [annotation_json(a) for a in run["annotations"]])


def list_check_runs_for_ref(ctx: Ctx) -> Reply:
    runs = ctx.state.check_runs_for(
        ctx.repo, head_sha=ctx.params["ref"], name=ctx.query.get("check_name")
    )
    if ctx.query.get("status"):
        runs = [r for r in runs if r["status"] == ctx.query["status"]]
    if ctx.query.get("app_id") and ctx.query["app_id"] != ctx.app_info.app_id:
        runs = []  # every check run here was made by the one App the sandbox knows
    bodies = [check_run_body(ctx.state, ctx.app_info, ctx.base, r) for r in runs]
    return paginate(ctx, bodies, key="check_runs")
