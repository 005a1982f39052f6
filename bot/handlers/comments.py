"""`/golden-path` commands in pull-request comments."""

from __future__ import annotations

import logging

from bot.core import commands, permissions
from bot.core.events import CommentEvent
from bot.core.report.replies import render_reply
from bot.core.routing import Router
from bot.handlers import run_requests
from bot.handlers.context import Context
from bot.handlers.run_requests import Answer, RunRequest

log = logging.getLogger(__name__)
router = Router()


@router.register("issue_comment", action="created")
def on_comment(event: CommentEvent, ctx: Context) -> None:
    # Guard clauses first (prow `trigger`): only pull requests, never bots, only open ones.
    if not event.is_pull_request or event.author_is_bot:
        return
    parsed = commands.parse(event.body)
    if not parsed:
        return
    for command in parsed:
        answer = _answer(event, command, ctx)
        if answer.reaction:
            ctx.github.react(event.comment_id, answer.reaction)
        if answer.reply:
            ctx.github.reply(event.number, answer.reply)


def _answer(event: CommentEvent, command: commands.Command, ctx: Context) -> Answer:
    if isinstance(command, commands.Help):
        reaction = "confused" if command.reason else "eyes"
        return Answer(reaction, render_reply("help", reason=command.reason))
    if isinstance(command, commands.Status):
        return Answer("eyes", _status(event, ctx))
    if event.issue_state != "open":
        return Answer("confused", render_reply("closed", number=event.number))
    if isinstance(command, commands.Run):
        return run_requests.request_run(
            ctx,
            RunRequest(
                repo=event.repo,
                pr_number=event.number,
                user=event.author,
                phases=command.phases,
                acknowledge=lambda: ctx.github.react(event.comment_id, "eyes"),
            ),
        )
    return _cancel(event, ctx)


def _status(event: CommentEvent, ctx: Context) -> str:
    record = ctx.runs.latest_for_pr(event.repo, event.number)
    link = run_requests.link_to(ctx, record) if record else None
    return render_reply("status", record=record, link=link)


def _cancel(event: CommentEvent, ctx: Context) -> Answer:
    permission = ctx.github.permission_of(event.author)
    if not permissions.may_cancel(permission):
        return Answer(
            "confused",
            render_reply("refused", user=event.author, permission=permission, command="cancel"),
        )
    record = ctx.runs.latest_for_pr(event.repo, event.number)
    if record is None or not record.active:
        return Answer("eyes", render_reply("nothing_to_cancel", record=record))
    reason = f"Cancelled by @{event.author}."
    run_requests.cancel_run(ctx, record, reason)
    return Answer("eyes", render_reply("cancelled", record=record, user=event.author))
