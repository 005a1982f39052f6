"""Labels: the repository's, and those on an issue or pull request."""

from __future__ import annotations

from sandbox.fake_github.bodies.issues import label_json
from sandbox.fake_github.http import Ctx, Reply, paginate
from sandbox.fake_github.rules import label_names


def add_labels(ctx: Ctx) -> Reply:
    # GitHub takes `{"labels": [...]}` or, as PyGithub sends it, a bare list.
    body = ctx.body if isinstance(ctx.body, list) else ctx.json_object()
    names = [str(n) for n in body] if isinstance(body, list) else label_names(body)
    labels = ctx.state.add_labels(ctx.repo, ctx.int_param("number"), names)
    return Reply([label_json(ctx.base, ctx.repo, label) for label in labels])


def remove_label(ctx: Ctx) -> Reply:
    labels = ctx.state.remove_label(ctx.repo, ctx.int_param("number"), ctx.params["name"])
    return Reply([label_json(ctx.base, ctx.repo, label) for label in labels])


def list_labels(ctx: Ctx) -> Reply:
    labels = ctx.state.labels(ctx.repo)
    return paginate(ctx, [label_json(ctx.base, ctx.repo, label) for label in labels])


def create_label(ctx: Ctx) -> Reply:
    label = ctx.state.create_label(ctx.repo, ctx.json_object())
    return Reply(label_json(ctx.base, ctx.repo, label), 201)


def get_label(ctx: Ctx) -> Reply:
    label = ctx.state.label(ctx.repo, ctx.params["name"])
    return Reply(label_json(ctx.base, ctx.repo, label))
