"""`/golden-path` commands in pull-request comments.

A comment costs the bot a bounded amount whatever it holds (contract §3): at most
`MAX_COMMAND_LINES` command lines are handled, the comment gets at most one reaction and one
reply that answers all of them, and handling it again (a retried task, a redelivery) posts
nothing twice: the reply is claimed in Redis before it is posted and carries a hidden marker
with the comment's id, which an attempt that finds the claim taken looks for first.
"""

from __future__ import annotations

import logging

from bot.core import commands, permissions, rerun
from bot.core.events import CommentEvent
from bot.core.report.markdown import MAX_BODY_CHARS, cut_chars
from bot.core.report.replies import render_reply
from bot.core.routing import Router
from bot.core.run_model import RunRecord
from bot.handlers import run_requests
from bot.handlers.context import Context
from bot.handlers.run_requests import Answer, RunRequest

log = logging.getLogger(__name__)
router = Router()

MAX_COMMAND_LINES = 10
REPLY_SEPARATOR = "\n\n---\n\n"


def reply_marker(comment_id: int) -> str:
    return f"<!-- golden-path:reply comment={int(comment_id)} -->"


@router.register("issue_comment", action="created")
def on_comment(event: CommentEvent, ctx: Context) -> None:
    # Guard clauses first (prow `trigger`): only pull requests, never bots, only open ones.
    if not event.is_pull_request or event.author_is_bot:
        return
    parsed = commands.parse(event.body)
    if not parsed:
        return
    replies: list[str] = []
    for command in parsed[:MAX_COMMAND_LINES]:
        answer = _answer(event, command, ctx)
        if answer.reaction:
            _react_once(ctx, event.comment_id, answer.reaction)
        if answer.reply and answer.reply not in replies:
            replies.append(answer.reply)
    if len(parsed) > MAX_COMMAND_LINES:
        ignored = len(parsed) - MAX_COMMAND_LINES
        replies.append(render_reply("ignored", count=ignored, limit=MAX_COMMAND_LINES))
    if replies:
        _reply_once(event, ctx, REPLY_SEPARATOR.join(replies))


def _reply_once(event: CommentEvent, ctx: Context, body: str) -> None:
    marker = reply_marker(event.comment_id)
    first = ctx.replies.claim(event.repo, event.comment_id)
    if not first and ctx.github.has_comment_with(event.number, marker):
        log.info("comment %s was already answered", event.comment_id)
        return
    ctx.github.reply(event.number, cut_chars(f"{marker}\n{body}", MAX_BODY_CHARS))


def _react_once(ctx: Context, comment_id: int, content: str) -> None:
    """React at most once to a comment: the first reaction decided stays (a comment's 👀 comes
    before its slower work). Remembered in the task's memo, so a retried attempt does not react
    again."""
    key = f"reacted:{comment_id}"
    if key not in ctx.memo:
        ctx.memo[key] = content
        ctx.github.react(comment_id, content)


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
                acknowledge=lambda: _react_once(ctx, event.comment_id, "eyes"),
            ),
        )
    if isinstance(command, commands.RerunFailed):
        return _rerun_failed(event, ctx)
    return _cancel(event, ctx)


def _rerun_failed(event: CommentEvent, ctx: Context) -> Answer:
    """Only the failed tests of the latest completed run, on its commit (contract §3)."""
    permission = ctx.github.permission_of(event.author)
    if not permissions.may_run(permission):
        return Answer(
            "confused",
            render_reply(
                "refused", user=event.author, permission=permission, command="rerun-failed"
            ),
        )
    latest = ctx.runs.latest_for_pr(event.repo, event.number)
    if latest is not None and latest.active:
        link = run_requests.link_to(ctx, latest)
        return Answer("eyes", render_reply("already_running", record=latest, link=link))
    if latest is None:
        return Answer("eyes", render_reply("nothing_to_rerun", record=None))
    head = ctx.github.get_pull(event.number).head_sha
    if head != latest.head_sha:
        return Answer("eyes", _head_moved(latest, head))
    selection = rerun.select(latest.verdicts)
    if not selection.anything_to_run:
        return Answer("eyes", render_reply("nothing_to_rerun", record=latest))
    answer = run_requests.request_run(
        ctx,
        RunRequest(
            repo=event.repo,
            pr_number=event.number,
            user=event.author,
            phases=selection.phases,
            trigger="rerun-failed",
            check_permission=False,  # checked above
            for_commit=latest.head_sha,
            rerun_of=latest.run_id,
            acknowledge=lambda: _react_once(ctx, event.comment_id, "eyes"),
        ),
    )
    if answer.moved_to:  # the head moved between the two reads
        return Answer("eyes", _head_moved(latest, answer.moved_to))
    return answer


def _head_moved(latest: RunRecord, head: str) -> str:
    return render_reply("rerun_head_moved", record=latest, head=head[:7])


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
