"""The fake GitHub server, driven over HTTP by unmodified PyGithub."""

from __future__ import annotations

import time
from collections.abc import Iterator

import github
import httpx
import jwt
import pytest

from sandbox.app_keys import app_keypair
from sandbox.fake_github.control import SandboxClient
from sandbox.github_server import FakeGitHub, FakeGitHubServer, create_fake_github
from sandbox.openapi_check import check_request

APP_ID = "4242"
INSTALLATION = 77
REPO = "acme/shop"
HEAD = "a" * 40


def _keypair() -> tuple[str, str]:
    return app_keypair()


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return _keypair()


@pytest.fixture
def server(keys: tuple[str, str]) -> Iterator[FakeGitHubServer]:
    fake = create_fake_github(APP_ID, keys[1])
    fake.add_installation(INSTALLATION)
    fake.add_repo(REPO, clone_url="/tmp/shop.git")
    fake.add_pull(REPO, 5, head_sha=HEAD, head_ref="fix-login", body="Fixes #3")
    fake.set_permission(REPO, "maintainer", "maintain")
    with FakeGitHubServer(fake) as running:
        yield running


@pytest.fixture
def fake(server: FakeGitHubServer) -> FakeGitHub:
    return server.fake


def _integration(server: FakeGitHubServer, private_key: str) -> github.GithubIntegration:
    auth = github.Auth.AppAuth(APP_ID, private_key)
    return github.GithubIntegration(auth=auth, base_url=server.url)


def _client(server: FakeGitHubServer, keys: tuple[str, str], **options: object) -> github.Github:
    token = _integration(server, keys[0]).get_access_token(INSTALLATION).token
    options = {"seconds_between_requests": None, "seconds_between_writes": None, **options}
    return github.Github(auth=github.Auth.Token(token), base_url=server.url, **options)


@pytest.fixture
def gh(server: FakeGitHubServer, keys: tuple[str, str]) -> Iterator[github.Github]:
    client = _client(server, keys)
    yield client
    client.close()


# --- authentication ---------------------------------------------------------------------------


def test_installation_token_is_issued_for_a_valid_app_jwt(
    server: FakeGitHubServer, keys: tuple[str, str]
) -> None:
    grant = _integration(server, keys[0]).get_access_token(INSTALLATION)
    assert grant.token.startswith("ghs_")
    assert grant.expires_at.timestamp() > time.time() + 3500


def test_app_endpoints_answer_to_the_jwt(server: FakeGitHubServer, keys: tuple[str, str]) -> None:
    integration = _integration(server, keys[0])
    assert [i.id for i in integration.get_installations()] == [INSTALLATION]
    assert integration.get_repo_installation("acme", "shop").id == INSTALLATION


def test_a_jwt_signed_by_another_key_is_refused(server: FakeGitHubServer) -> None:
    other_private, _ = _keypair()
    with pytest.raises(github.GithubException) as raised:
        _integration(server, other_private).get_access_token(INSTALLATION)
    assert raised.value.status == 401
    assert "documentation_url" in raised.value.data


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "999"}, "Issuer"),
        ({"exp_after_iat": 1200}, "too far"),
        ({"iat": -1200, "exp_after_iat": 300}, "past"),
    ],
)
def test_bad_jwt_claims_are_refused(
    server: FakeGitHubServer, keys: tuple[str, str], claims: dict[str, object], reason: str
) -> None:
    now = int(time.time())
    iat = now + int(claims.get("iat", -60))  # type: ignore[call-overload]
    payload = {
        "iat": iat,
        "exp": iat + int(claims.get("exp_after_iat", 300)),  # type: ignore[call-overload]
        "iss": claims.get("iss", APP_ID),
    }
    token = jwt.encode(payload, keys[0], algorithm="RS256")
    response = httpx.post(
        f"{server.url}/app/installations/{INSTALLATION}/access_tokens",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401
    assert reason in response.json()["message"]


def test_api_calls_need_an_issued_token(server: FakeGitHubServer) -> None:
    response = httpx.get(f"{server.url}/repos/{REPO}", headers={"Authorization": "token nope"})
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"


def test_user_routes_refuse_an_installation_token_and_no_token(
    server: FakeGitHubServer, fake: FakeGitHub
) -> None:
    token, _ = fake.issue_token(INSTALLATION)
    as_app = httpx.get(f"{server.url}/user", headers={"Authorization": f"token {token}"})
    assert (as_app.status_code, as_app.json()["message"]) == (
        403,
        "Resource not accessible by integration",
    )
    nobody = httpx.get(f"{server.url}/user", headers={"Authorization": "token nope"})
    assert (nobody.status_code, nobody.json()["message"]) == (401, "Bad credentials")


def test_expired_tokens_are_refused(
    server: FakeGitHubServer, fake: FakeGitHub, gh: github.Github
) -> None:
    fake.expire_tokens()
    with pytest.raises(github.BadCredentialsException):
        gh.get_repo(REPO)


# --- repositories, pulls, permissions ---------------------------------------------------------


def test_repo_and_pull_as_pygithub_reads_them(gh: github.Github, server: FakeGitHubServer) -> None:
    repo = gh.get_repo(REPO)
    assert repo.full_name == REPO
    assert repo.url == f"{server.url}/repos/{REPO}"
    pull = repo.get_pull(5)
    assert (pull.number, pull.state, pull.body, pull.draft) == (5, "open", "Fixes #3", False)
    assert (pull.head.sha, pull.head.ref) == (HEAD, "fix-login")
    assert pull.head.repo.clone_url == "/tmp/shop.git"
    assert pull.head.repo.fork is False
    assert pull.base.ref == "main"
    assert pull.user.login == "octocat"


def test_a_pull_from_a_fork_and_a_push(gh: github.Github, fake: FakeGitHub) -> None:
    fake.add_pull(
        REPO,
        6,
        head_sha="b" * 40,
        head_ref="patch-1",
        head_full_name="mallory/shop",
        head_clone_url="https://example.invalid/mallory/shop.git",
    )
    fake.set_head(REPO, 6, "c" * 40)
    pull = gh.get_repo(REPO).get_pull(6)
    assert pull.head.repo.fork is True
    assert pull.head.repo.full_name == "mallory/shop"
    assert pull.head.repo.clone_url == "https://example.invalid/mallory/shop.git"
    assert pull.head.sha == "c" * 40


def test_permission_maps_fine_roles_as_github_does(gh: github.Github, fake: FakeGitHub) -> None:
    repo = gh.get_repo(REPO)
    fake.set_permission(REPO, "triager", "triage")
    assert repo.get_collaborator_permission("maintainer") == "write"
    assert repo.get_collaborator_role_name("maintainer") == "maintain"
    assert repo.get_collaborator_permission("triager") == "read"
    assert repo.get_collaborator_permission("stranger") == "read"  # a public repository


# --- comments and reactions -------------------------------------------------------------------


def test_reactions_on_a_comment(gh: github.Github, fake: FakeGitHub) -> None:
    comment_id = fake.add_comment(REPO, 5, "/golden-path run", user="maintainer")
    comment = gh.get_repo(REPO).get_issue(5).get_comment(comment_id)
    assert comment.user.login == "maintainer"
    reaction = comment.create_reaction("eyes")
    assert reaction.content == "eyes"
    assert [r["content"] for r in fake.reactions(comment_id)] == ["eyes"]
    with pytest.raises(github.GithubException) as raised:
        comment.create_reaction("thumbsup")
    assert raised.value.status == 422


def test_bot_comments_are_created_edited_and_listed(gh: github.Github, fake: FakeGitHub) -> None:
    issue = gh.get_repo(REPO).get_issue(5)
    assert issue.pull_request is not None  # a PR is an issue
    comment = issue.create_comment("<!-- golden-path:pr-comment -->\nqueued")
    assert comment.user.login == "golden-path[bot]"
    assert comment.user.type == "Bot"
    assert comment.performed_via_github_app.slug == "golden-path"
    comment.edit("<!-- golden-path:pr-comment -->\npassed")
    assert [c.body for c in issue.get_comments()] == ["<!-- golden-path:pr-comment -->\npassed"]
    assert fake.comments(REPO, 5)[0]["body"].endswith("passed")


def test_comment_body_over_the_limit_is_refused(gh: github.Github) -> None:
    with pytest.raises(github.GithubException) as raised:
        gh.get_repo(REPO).get_issue(5).create_comment("x" * 65537)
    assert raised.value.status == 422


def test_comments_paginate_over_pages(gh: github.Github, fake: FakeGitHub) -> None:
    for n in range(65):
        fake.add_comment(REPO, 5, f"comment {n}")
    bodies = [c.body for c in gh.get_repo(REPO).get_issue(5).get_comments()]
    assert bodies == [f"comment {n}" for n in range(65)]
    pages = [r for r in fake.requests if r["path"] == f"/repos/{REPO}/issues/5/comments"]
    assert len(pages) == 3


# --- check runs -------------------------------------------------------------------------------


def _annotations(count: int) -> list[dict[str, object]]:
    return [
        {
            "path": "tests/test_auth.py",
            "start_line": n + 1,
            "end_line": n + 1,
            "annotation_level": "failure",
            "message": f"assert {n}",
        }
        for n in range(count)
    ]


def test_check_run_lifecycle_with_annotations(gh: github.Github, fake: FakeGitHub) -> None:
    repo = gh.get_repo(REPO)
    run = repo.create_check_run(
        "Golden Path P0",
        HEAD,
        status="queued",
        output={"title": "Queued", "summary": "waiting"},
    )
    assert (run.status, run.conclusion) == ("queued", None)
    run.edit(status="in_progress", output={"title": "auth", "summary": "running auth"})
    run.edit(output={"title": "auth", "summary": "s", "annotations": _annotations(50)})
    run.edit(
        conclusion="failure",
        output={"title": "Failed", "summary": "table", "annotations": _annotations(3)},
    )
    again = repo.get_check_run(run.id)
    assert (again.status, again.conclusion) == ("completed", "failure")  # status implied
    assert again.completed_at is not None
    assert again.output.annotations_count == 53
    assert len(list(again.get_annotations())) == 53
    [stored] = fake.check_runs(REPO, head_sha=HEAD)
    assert len(stored["annotations"]) == 53
    assert [h["method"] for h in stored["history"]] == ["POST", "PATCH", "PATCH", "PATCH"]
    assert stored["pull_requests"][0]["number"] == 5


def test_fifty_one_annotations_in_one_request_are_refused(gh: github.Github) -> None:
    run = gh.get_repo(REPO).create_check_run("Golden Path P0", HEAD, status="in_progress")
    with pytest.raises(github.GithubException) as raised:
        run.edit(output={"title": "t", "summary": "s", "annotations": _annotations(51)})
    assert raised.value.status == 422


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "completed"},  # completed needs a conclusion
        {"conclusion": "bogus"},
        {"status": "waiting"},  # only GitHub Actions may
        {"output": {"title": "t", "summary": "x" * 65536}},
        {"actions": [{"label": "l", "description": "d", "identifier": str(n)} for n in range(4)]},
        {"actions": [{"label": "x" * 21, "description": "d", "identifier": "run"}]},
        {"actions": [{"label": "Run", "description": "x" * 41, "identifier": "run"}]},
        {"actions": [{"label": "Run", "description": "d", "identifier": "x" * 21}]},
    ],
)
def test_check_run_rules_answer_422(gh: github.Github, fields: dict[str, object]) -> None:
    with pytest.raises(github.GithubException) as raised:
        gh.get_repo(REPO).create_check_run("Golden Path P0", HEAD, **fields)  # type: ignore[arg-type]
    assert raised.value.status == 422


def test_placeholder_check_run_with_an_action(gh: github.Github, fake: FakeGitHub) -> None:
    action = {"label": "Run golden path", "description": "Run the P0 suites", "identifier": "run"}
    gh.get_repo(REPO).create_check_run(
        "Golden Path P0",
        HEAD,
        conclusion="action_required",
        output={"title": "Golden path has not run", "summary": "Press the button."},
        actions=[action],
    )
    [stored] = fake.check_runs(REPO)
    assert stored["status"] == "completed"
    assert stored["actions"] == [action]
    assert all(not r["openapi_problems"] for r in fake.requests), fake.requests


def test_list_check_runs_for_a_commit_by_name(gh: github.Github) -> None:
    repo = gh.get_repo(REPO)
    repo.create_check_run("Golden Path P0", HEAD)
    repo.create_check_run("lint", HEAD)
    repo.create_check_run("Golden Path P0", "f" * 40)
    runs = repo.get_commit(HEAD).get_check_runs(check_name="Golden Path P0")
    assert runs.totalCount == 1
    assert [r.name for r in runs] == ["Golden Path P0"]
    assert len(list(repo.get_commit(HEAD).get_check_runs())) == 2


# --- issues and labels ------------------------------------------------------------------------


def test_issue_with_labels_and_filters(gh: github.Github, fake: FakeGitHub) -> None:
    repo = gh.get_repo(REPO)
    issue = repo.create_issue("Five whys: TimeoutError", body="<!-- sig -->", labels=["five-whys"])
    assert issue.number == 6  # after PR #5: one numbering space
    assert issue.user.login == "golden-path[bot]"
    assert [label.name for label in repo.get_labels()] == ["five-whys"]
    found = repo.get_issues(state="open", labels=[repo.get_label("five-whys")])
    assert [i.number for i in found] == [6]
    assert list(repo.get_issues(creator="someone-else")) == []
    issue.edit(state="closed")
    assert list(repo.get_issues(state="open", labels=["five-whys"])) == []  # type: ignore[list-item]
    assert fake.issues(REPO)[-1]["state"] == "closed"


def test_add_and_remove_labels(gh: github.Github, fake: FakeGitHub) -> None:
    fake.add_issue(REPO, 3, "Login broken", "")
    repo = gh.get_repo(REPO)
    repo.create_label("golden-path:passing", "0e8a16", "the golden path passes")
    issue = repo.get_issue(3)
    issue.add_to_labels("golden-path:failing")
    issue.add_to_labels("golden-path:passing")
    issue.remove_from_labels("golden-path:failing")
    assert fake.labels_of(REPO, 3) == ["golden-path:passing"]
    with pytest.raises(github.GithubException) as missing:
        issue.remove_from_labels("golden-path:failing")
    assert missing.value.status == 404
    with pytest.raises(github.GithubException) as raised:
        repo.create_label("golden-path:passing", "0e8a16")
    assert raised.value.status == 422


# --- fault injection, request log, openapi -----------------------------------------------------


def test_fault_500_without_retry(
    server: FakeGitHubServer, keys: tuple[str, str], fake: FakeGitHub
) -> None:
    gh = _client(server, keys, retry=None)
    fake.fail_next("GET", r"/repos/acme/shop$", 500)
    with pytest.raises(github.GithubException) as raised:
        gh.get_repo(REPO)
    assert raised.value.status == 500
    assert gh.get_repo(REPO).full_name == REPO  # only once


def test_fault_500_is_retried_by_pygithub_default_retry(
    gh: github.Github, fake: FakeGitHub
) -> None:
    fake.fail_next("GET", r"/repos/acme/shop$", 502, times=2)
    assert gh.get_repo(REPO).full_name == REPO
    statuses = [r["status"] for r in fake.requests if r["path"] == f"/repos/{REPO}"]
    assert statuses == [502, 502, 200]


def test_fault_rate_limit_403(
    server: FakeGitHubServer, keys: tuple[str, str], fake: FakeGitHub
) -> None:
    gh = _client(server, keys, retry=None)
    reset = str(int(time.time()) + 30)
    fake.fail_next(
        "POST",
        r"/check-runs$",
        403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        body={"message": "API rate limit exceeded for installation ID 77."},
    )
    with pytest.raises(github.RateLimitExceededException) as raised:
        gh.get_repo(REPO).create_check_run("Golden Path P0", HEAD)
    assert raised.value.headers["x-ratelimit-reset"] == reset


@pytest.mark.parametrize(
    "names",
    [
        ("X-RateLimit-Remaining", "X-RateLimit-Reset"),
        ("x-ratelimit-remaining", "x-ratelimit-reset"),
        ("X-RATELIMIT-REMAINING", "X-Ratelimit-Reset"),
    ],
)
def test_injected_headers_replace_the_defaults_whatever_their_case(
    server: FakeGitHubServer, keys: tuple[str, str], fake: FakeGitHub, names: tuple[str, str]
) -> None:
    gh = _client(server, keys, retry=None)
    reset = str(int(time.time()) + 30)
    remaining, reset_name = names
    fake.fail_next("GET", r"/repos/acme/shop$", 403, headers={remaining: "0", reset_name: reset})
    raw = httpx.get(f"{server.url}/repos/{REPO}")  # the fault is taken by this plain request
    assert raw.headers.get_list("x-ratelimit-remaining") == ["0"]
    assert raw.headers.get_list("x-ratelimit-reset") == [reset]
    assert raw.headers.get_list("x-ratelimit-limit") == ["5000"]  # other defaults stay

    fake.fail_next(
        "GET",
        r"/repos/acme/shop$",
        403,
        headers={remaining: "0", reset_name: reset},
        body={"message": "API rate limit exceeded for installation ID 77."},
    )
    with pytest.raises(github.RateLimitExceededException) as raised:
        gh.get_repo(REPO)
    assert raised.value.status == 403
    assert raised.value.headers["x-ratelimit-remaining"] == "0"
    assert raised.value.headers["x-ratelimit-reset"] == reset


def test_requests_are_recorded_without_the_token(gh: github.Github, fake: FakeGitHub) -> None:
    gh.get_repo(REPO).get_issue(5).create_comment("hi")
    post = next(r for r in fake.requests if r["method"] == "POST" and "comments" in r["path"])
    assert post["json"] == {"body": "hi"}
    assert post["status"] == 201
    assert "authorization" not in post["headers"]
    assert post["openapi_problems"] == []


def test_openapi_check_flags_a_bad_body_and_accepts_a_good_one() -> None:
    path = f"/repos/{REPO}/check-runs"
    good = {"name": "Golden Path P0", "head_sha": HEAD, "conclusion": "success"}
    assert check_request("POST", path, good) == []
    problems = check_request("POST", path, {**good, "conclusion": "bogus"})
    assert len(problems) == 1
    assert "bogus" in problems[0]
    assert check_request("GET", "/repos/a/b/wikis", None) == [
        "unknown endpoint: GET /repos/a/b/wikis"
    ]


def test_the_fake_records_openapi_problems(fake: FakeGitHub, gh: github.Github) -> None:
    with pytest.raises(github.GithubException):
        gh.get_repo(REPO).create_check_run("Golden Path P0", HEAD, conclusion="bogus")
    assert any("bogus" in p for r in fake.requests for p in r["openapi_problems"])


# --- the control API over HTTP ----------------------------------------------------------------


def test_sandbox_control_api_from_another_process(
    server: FakeGitHubServer, gh: github.Github
) -> None:
    remote = SandboxClient(server.url)
    remote.add_repo("acme/api")
    remote.add_pull("acme/api", 1, head_sha=HEAD, head_ref="x", body="b")
    remote.set_permission("acme/api", "octocat", "write")
    comment_id = remote.add_comment("acme/api", 1, "/golden-path status")
    assert gh.get_repo("acme/api").get_collaborator_permission("octocat") == "write"
    gh.get_repo("acme/api").get_issue(1).get_comment(comment_id).create_reaction("confused")
    assert [r["content"] for r in remote.reactions(comment_id)] == ["confused"]
    assert [i["number"] for i in remote.issues("acme/api")] == [1]
    assert remote.comments("acme/api", 1)[0]["user"]["login"] == "octocat"
    remote.fail_next("GET", "/repos/acme/api$", 500)
    assert remote.check_runs("acme/api") == []
    assert any(r["path"] == "/repos/acme/api" for r in remote.requests)
