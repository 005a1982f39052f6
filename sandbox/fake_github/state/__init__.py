"""In-memory state of the fake GitHub and the rules GitHub enforces on it (no HTTP here).

One mixin per resource over `StateCore` (the lock, ids, records, repositories); `GitHubState`
is all of them, the one object the routes and the tests hold.
"""

from sandbox.fake_github.state.checks import CheckRunState
from sandbox.fake_github.state.comments import CommentState
from sandbox.fake_github.state.deployments import DeploymentState
from sandbox.fake_github.state.issues import IssueState


class GitHubState(IssueState, CommentState, CheckRunState, DeploymentState):
    """Repositories, issues and pulls, comments, reactions, labels, check runs, installations."""


__all__ = ["GitHubState"]
