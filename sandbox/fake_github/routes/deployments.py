"""Deployment protection rules: an App's review of a deployment waiting on it."""

from __future__ import annotations

from sandbox.fake_github.http import Ctx, Reply


def review_custom_gates(ctx: Ctx) -> Reply:
    """An App's answer to a deployment waiting on its custom protection rule (204, no body)."""
    ctx.state.answer_deployment(ctx.repo, ctx.int_param("run_id"), ctx.json_object())
    return Reply(None, 204)
