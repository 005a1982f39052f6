"""Issues (pull requests included) and their comments."""

from __future__ import annotations

from sandbox.fake_github.bodies.issues import comment_json
from sandbox.fake_github.http import Ctx, Reply, paginate
from sandbox.fake_github.render import issue_body


def _issue_reply(ctx: Ctx, number: int, status: int = 200) -> Reply:
    return Reply(issue_body(ctx.state, ctx.base, ctx.repo, number), status)


def list_issues(ctx: Ctx) -> Reply:
    labels = [n for n in ctx.query.get("labels", "").split(",") if n]
    issues = ctx.state.list_issues(
        ctx.repo,
        state=ctx.query.get("state", "open"),
        labels=labels,
        creator=ctx.query.get("creator"),
    )
    return paginate(ctx, [_issue_reply(ctx, i["number"]).body for i in issues])


def create_issue(ctx: Ctx) -> Reply:
    number = ctx.state.create_issue(ctx.repo, ctx.json_object(), *ctx.actor)
    return _issue_reply(ctx, number, 201)


def get_issue(ctx: Ctx) -> Reply:
    return _issue_reply(ctx, ctx.int_param("number"))


def update_issue(ctx: Ctx) -> Reply:
    ctx.state.update_issue(ctx.repo, ctx.int_param("number"), ctx.json_object())
    return _issue_reply(ctx, ctx.int_param("number"))


def list_comments(ctx: Ctx) -> Reply:
    comments = ctx.state.comments_on(ctx.repo, ctx.int_param("number"))
    return paginate(ctx, [comment_json(ctx.base, ctx.app_info, c) for c in comments])


def create_comment(ctx: Ctx) -> Reply:
    login, kind = ctx.actor
    comment = ctx.state.add_comment(
        ctx.repo,
        ctx.int_param("number"),
        ctx.json_object().get("body"),
        user=login,
        user_type=kind,
        via_app=kind == "Bot",
    )
    return Reply(comment_json(ctx.base, ctx.app_info, comment), 201)


def get_comment(ctx: Ctx) -> Reply:
    comment = ctx.state.comment(ctx.repo, ctx.int_param("comment_id"))
    return Reply(comment_json(ctx.base, ctx.app_info, comment))


def edit_comment(ctx: Ctx) -> Reply:
    body = ctx.json_object().get("body")
    comment = ctx.state.edit_comment(ctx.repo, ctx.int_param("comment_id"), body)
    return Reply(comment_json(ctx.base, ctx.app_info, comment))
