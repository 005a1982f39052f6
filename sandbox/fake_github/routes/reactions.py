"""Reactions to issue comments."""

from __future__ import annotations

from sandbox.fake_github.bodies.issues import reaction_json
from sandbox.fake_github.http import Ctx, Reply


def create_reaction(ctx: Ctx) -> Reply:
    content = ctx.json_object().get("content")
    reaction, created = ctx.state.react(ctx.repo, ctx.int_param("comment_id"), content, *ctx.actor)
    return Reply(reaction_json(ctx.base, reaction), 201 if created else 200)
