"""The fake GitHub REST API, one module a job.

- `fake`: `FakeGitHub`, the object tests hold: state, credentials, faults, request log, the
  test-side methods, and `.app` (ASGI) which serves them;
- `routes/`: the REST routes, one module per resource, and the table that maps paths to them;
- `http`: what every route shares: the request (`Ctx`), the answer (`Reply`), errors, pagination,
  rate-limit headers, planted faults;
- `auth`: the App's JWT and the installation tokens;
- `control`: the `/_sandbox/...` control API and `SandboxClient`, its client;
- `state/`: the in-memory records, one mixin per resource; `rules`: what GitHub refuses;
- `bodies/`: the JSON bodies of the records, one module per resource; `render`: issue and
  check-run bodies built from more than one record.

`sandbox.github_server` runs a `FakeGitHub` over HTTP.
"""
