"""Small in-memory fakes of the narrow protocols handlers and the run job are handed (prow's
`fakegithub.FakeClient`): each keeps just enough state to answer and records what was done."""
