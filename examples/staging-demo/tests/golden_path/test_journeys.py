"""Critical user journeys: from sign-up to a paying team."""

from __future__ import annotations

import uuid

import httpx


def sign_up_and_log_in(client: httpx.Client) -> str:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    created = client.post("/users", json={"email": email, "password": "s3cret-pass", "name": "New"})
    assert created.status_code == 201, created.text
    login = client.post("/auth/login", json={"email": email, "password": "s3cret-pass"})
    assert login.status_code == 200, login.text
    client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    return email


def test_new_user_signs_up_and_reaches_the_dashboard(client: httpx.Client) -> None:
    email = sign_up_and_log_in(client)
    dashboard = client.get("/billing/usage")
    assert dashboard.status_code == 200, dashboard.text
    assert dashboard.json() == {"email": email, "plan": "free", "agent_runs": 0}


def test_team_lead_creates_a_workspace_and_invites_a_colleague(client: httpx.Client) -> None:
    sign_up_and_log_in(client)
    workspace = client.post("/workspaces", json={"name": "Platform team"})
    assert workspace.status_code == 201, workspace.text
    ws_id = workspace.json()["id"]
    invite = client.post(f"/workspaces/{ws_id}/invites", json={"email": "colleague@example.com"})
    assert invite.status_code == 201, invite.text
    assert invite.json()["status"] == "pending"


def test_billing_history_lists_the_invoices(client: httpx.Client) -> None:
    email = sign_up_and_log_in(client)
    history = client.get("/billing/invoices")
    assert history.status_code == 200, history.text
    assert history.json()["email"] == email


def test_user_upgrades_to_pro(client: httpx.Client) -> None:
    sign_up_and_log_in(client)
    upgrade = client.post("/billing/checkout", json={"plan": "pro"})
    assert upgrade.status_code == 200, upgrade.text
    assert client.get("/billing/usage").json()["plan"] == "pro"


def test_duplicate_sign_up_is_refused(client: httpx.Client) -> None:
    email = sign_up_and_log_in(client)
    again = client.post("/users", json={"email": email, "password": "another-pass"})
    assert again.status_code == 409
