"""Regenerate tests/data/signature_corpus/: real pytest results of a small project with two
injected bugs, run through the bot's own result stream plugin (and JUnit XML).

    .venv/bin/python tests/data/make_signature_corpus.py

Bug `newline`: `split_lines` drops the last line (one cause, many shapes of failure).
Bug `message`: `parse_config` words its error differently (an unrelated cause whose assertion
reads like one of the first bug's: `assert <S> in <S>`). Which bug fails which test is found by
running each injection alone; `truth.json` records it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent / "signature_corpus"
PLUGIN = Path(__file__).resolve().parents[2] / "workers" / "engine" / "plugin"

LIBRARY = """
def split_lines(text):
    lines = text.split("\\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines{newline_bug}


def last_line(text):
    return split_lines(text)[-1]


def first_word(text):
    return split_lines(text)[0].split()[0]


def count_lines(text):
    return len(split_lines(text))


def parse_config(text):
    config = {{}}
    for number, line in enumerate(text.splitlines(), start=1):
        if "=" not in line:
            raise ValueError({message_bug})
        key, value = line.split("=", 1)
        config[key.strip()] = value.strip()
    return config
"""
GOOD_MESSAGE = "f\"missing '=' on line {number}\""
BAD_MESSAGE = 'f"line {number} has no equals sign"'

TEXT_TESTS = """
import pytest
from textkit import count_lines, first_word, last_line, split_lines


@pytest.mark.parametrize("text,expected", [
    ("a\\nb", ["a", "b"]), ("a\\nb\\nc", ["a", "b", "c"]), ("one", ["one"]),
    ("x\\ny\\nz\\nw", ["x", "y", "z", "w"]), ("a\\n", ["a"]),
])
def test_split(text, expected):
    assert split_lines(text) == expected


@pytest.mark.parametrize("text,expected", [("a\\nb", "b"), ("a\\nb\\nc", "c"), ("solo", "solo")])
def test_last_line(text, expected):
    assert last_line(text) == expected


def test_last_line_contains_word():
    assert "world" in last_line("hello\\nworld")


@pytest.mark.parametrize("text,expected", [("a\\nb", 2), ("a\\nb\\nc", 3), ("a", 1)])
def test_count(text, expected):
    assert count_lines(text) == expected


@pytest.mark.parametrize("text", ["hello world", "single"])
def test_first_word(text):
    assert first_word(text) == text.split()[0]
"""
CONFIG_TESTS = """
import pytest
from textkit import parse_config


def test_parses_pairs():
    assert parse_config("a = 1\\nb = 2\\n") == {"a": "1", "b": "2"}


@pytest.mark.parametrize("text", ["nonsense\\n", "a = 1\\noops\\n"])
def test_error_names_the_problem(text):
    with pytest.raises(ValueError) as caught:
        parse_config(text)
    assert "missing '='" in str(caught.value)
"""


def run(newline: bool, message: bool, out: Path | None) -> set[str]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "textkit.py").write_text(
            LIBRARY.format(
                newline_bug="[:-1]" if newline else "",
                message_bug=BAD_MESSAGE if message else GOOD_MESSAGE,
            )
        )
        (root / "tests").mkdir()
        (root / "tests" / "test_text.py").write_text(TEXT_TESTS)
        (root / "tests" / "test_config.py").write_text(CONFIG_TESTS)
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{PLUGIN}:{root}"}
        stream, junit = root / "results.jsonl", root / "junit.xml"
        subprocess.run(
            [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider",
             "-p", "golden_path_stream", f"--golden-path-stream={stream}",
             f"--junitxml={junit}", "-o", "junit_family=xunit1"],
            cwd=root, env=env, check=False, capture_output=True,
        )  # fmt: skip
        failed = {
            event["id"]
            for event in map(json.loads, stream.read_text().splitlines())
            if event.get("e") == "report" and event.get("cat") in ("failed", "error")
        }
        if out is not None:
            shutil.copyfile(stream, out / "results.jsonl")
            shutil.copyfile(junit, out / "junit.xml")
        return failed


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    truth = {
        "newline": sorted(run(True, False, None)),
        "message": sorted(run(False, True, None)),
    }
    both = run(True, True, HERE)
    assert not set(truth["newline"]) & set(truth["message"]), "the bugs interact"
    assert both == set(truth["newline"]) | set(truth["message"]), "the bugs interact"
    (HERE / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    print(f"{len(both)} failures: {', '.join(f'{k} {len(v)}' for k, v in truth.items())}")


if __name__ == "__main__":
    main()
