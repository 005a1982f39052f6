"""Jinja2 templates for everything the bot posts (a package so an installed bot finds them)."""
