"""GitHub-shaped JSON bodies for the fake's records, one module per resource, with URLs built
from the server's own base URL.

PyGithub follows the `url` fields it is given for its follow-up calls, so they must point back at
the sandbox, not at api.github.com. HTML links use the same base (`{base}/{owner}/{repo}/...`).
"""
