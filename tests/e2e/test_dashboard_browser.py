"""The dashboard in a real headless Chromium (Debian's `chromium`, driven by Playwright; no
browser is downloaded): sign-in against the sandbox's OAuth endpoints, a user who cannot read a
repository sees none of its runs, a running run's page updates without reload until it completes,
a trend plot is drawn. Screenshots go to each test's tmp folder; their paths are printed."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sandbox.stack import Stack, wait_until
from tests.e2e.conftest import (
    PASSING_SUITE,
    Project,
    check_runs,
    create_project,
    wait_for_check,
)

CHROMIUM = "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="Debian's chromium is installed by scripts/setup"
)

GATED_SUITE = """
import os
import time
import urllib.request


def test_waits_until_the_gate_opens():
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(os.environ["GATE_URL"], timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the gate never opened")
"""


def gated_plan(gate_url: str) -> str:
    return f"""
check_name: Golden Path P0
env:
  GATE_URL: {gate_url}
phases:
  - id: auth
    name: Core authentication
    suites: [tests/test_auth.py]
  - id: journeys
    name: User journeys
    suites: [tests/test_journeys.py]
"""


class Gate:
    """An HTTP endpoint the gated test polls: 503 until `open()`, then 200."""

    def __init__(self) -> None:
        opened = self.opened = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200 if opened.is_set() else 503)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def open(self) -> None:
        self.opened.set()

    def close(self) -> None:
        self.opened.set()
        self.server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Any:
    def shot(page: Any, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    return shot


def private_project(make_project: Any, stack: Stack, files: dict[str, str], **kw: Any) -> Project:
    project = make_project(files, **kw)
    stack.github.fake.add_repo(project.repo, private=True)  # outsiders cannot read it
    return project


def successes(stack: Stack, project: Project) -> int:
    return sum(1 for c in check_runs(stack, project) if c.get("conclusion") == "success")


def run_once_more(stack: Stack, project: Project) -> dict[str, Any]:
    """One more `/golden-path run auth`, to its completion; returns its check run."""
    done = successes(stack, project)
    assert stack.comment(project.repo, 1, "/golden-path run auth").status_code == 202
    wait_until(lambda: successes(stack, project) > done, timeout=90, what="the run to complete")
    return wait_for_check(stack, project)


@pytest.fixture(scope="module")
def finished(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict]:
    """A private repository with one completed run, shared by the tests that only look."""
    root = tmp_path_factory.mktemp("browser-projects")
    project = create_project(stack, root, {"tests/test_auth.py": PASSING_SUITE})
    stack.github.fake.add_repo(project.repo, private=True)
    return project, run_once_more(stack, project)


def sign_in(browser: Any, stack: Stack, login: str) -> Any:
    """A fresh browser (no cookies) signs in with GitHub as `login`; returns its page."""
    stack.github.fake.oauth.sign_in(login)
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()  # a phone
    page.goto(stack.web_url + "/")
    page.get_by_role("link", name="Sign in with GitHub").first.click()
    page.wait_for_url(stack.web_url + "/")
    return page


def test_sign_in_with_github_shows_the_users_runs(stack, finished, browser, shots):
    project, _ = finished
    page = sign_in(browser, stack, "octocat")
    assert page.get_by_text("Signed in as").is_visible()
    row = page.locator("tbody tr", has_text=project.repo).first
    assert row.locator(".status").inner_text() == "success"
    shots(page, "01-signed-in-runs-list")
    sent = stack.github.fake.oauth.authorizations[-1]
    assert sent["code_challenge_method"] == "S256"


def test_a_user_who_cannot_read_the_repository_sees_none_of_its_runs(
    stack, finished, browser, shots
):
    project, check = finished
    run_path = check["details_url"].split("?")[0].removeprefix(stack.web_url)
    page = sign_in(browser, stack, "mallory")
    assert project.repo not in page.content()
    shots(page, "02-outsider-sees-no-runs")
    answer = page.goto(stack.web_url + run_path)  # the run page without its signed link
    assert answer is not None and answer.status == 404
    shots(page, "03-outsider-run-page-404")


def test_a_running_runs_page_updates_without_reload_until_it_completes(
    stack, make_project, browser, shots
):
    gate = Gate()
    try:
        project = private_project(
            make_project,
            stack,
            {"tests/test_auth.py": PASSING_SUITE, "tests/test_journeys.py": GATED_SUITE},
            plan=gated_plan(gate.url),
        )
        assert stack.comment(project.repo, 1, "/golden-path run").status_code == 202
        running = wait_for_check(stack, project, status="in_progress")
        page = browser.new_context().new_page()
        page.goto(running["details_url"])  # the check run's "Details" link, signed
        page.evaluate("window.loadedOnce = 'yes'")
        # locator waits, not wait_for_function: the page's CSP forbids evaluating strings
        expect(page.locator("#run-state")).to_have_text("running", timeout=30_000)
        shots(page, "04-run-page-live-running")
        gate.open()
        expect(page.locator("#run-conclusion")).to_have_text("success", timeout=90_000)
        assert page.evaluate("window.loadedOnce") == "yes"  # the same document: no reload
        assert page.locator("#phase-journeys .phase-status").inner_text() == "passed"
        assert page.locator("#phase-auth .phase-counts").inner_text() == "2/2"
        shots(page, "05-run-page-completed-live")
    finally:
        gate.close()
    assert wait_for_check(stack, project)["conclusion"] == "success"


def test_repository_page_draws_trend_plots(stack, finished, browser, shots):
    project, _ = finished
    run_once_more(stack, project)  # a second point on each plot
    page = sign_in(browser, stack, "octocat")
    page.goto(f"{stack.web_url}/repos/{project.repo}")
    plot = page.locator("svg.plot").first
    assert plot.get_attribute("role") == "img"
    assert page.locator("svg.plot circle").count() >= 2
    assert "auth: pass rate" in (plot.get_attribute("aria-label") or "")
    shots(page, "06-repository-trend-plots")
