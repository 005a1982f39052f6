"""Run reports to the Markdown the bot posts, one module per thing posted.

Every decision (status words, emoji, recommendation, what to cut to fit GitHub's limits) is made
in these modules; the templates in `templates/` only format. Every untrusted value reaches a
template through one of the filters of `markdown`.
"""
