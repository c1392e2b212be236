#!/usr/bin/env python3
"""Posts migrade's markdown report as one pull-request comment, or updates it.

Used by action.yml (input `comment: "true"`). The comment carries a hidden marker;
a later run finds it among the PR's comments and edits it instead of adding
another, as squawk's and atlas's actions do.

GitHub REST API (https://docs.github.com/en/rest/issues/comments): a pull request
is an issue, so its conversation comments are issue comments:
  GET   {api}/repos/{owner}/{repo}/issues/{number}/comments?per_page=100&page=N
  POST  {api}/repos/{owner}/{repo}/issues/{number}/comments   {"body": ...}
  PATCH {api}/repos/{owner}/{repo}/issues/comments/{id}       {"body": ...}
A comment body holds at most 65,536 characters.

Environment (set by the runner): GITHUB_API_URL, GITHUB_REPOSITORY,
GITHUB_EVENT_PATH (the event payload: pull_request.number), GITHUB_TOKEN (the
action's github-token input).

Exit codes: 0 posted, updated, or nothing to do (not a pull request); 1 the API
refused or could not be reached (the message says why; the action turns it into
a warning, it never fails the job).
"""

import json
import os
import sys
import urllib.error
import urllib.request

MARKER = "<!-- migrade-report -->"
LIMIT = 65_536
API_VERSION = "2022-11-28"


def request(method, url, token, body=None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/vnd.github+json")
    req.add_header("X-GitHub-Api-Version", API_VERSION)
    req.add_header("User-Agent", "migrade-action")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read().decode("utf-8") or "null")


def pr_number(event_path):
    try:
        with open(event_path, encoding="utf-8") as f:
            event = json.load(f)
    except (OSError, ValueError):
        return None
    pr = event.get("pull_request") or {}
    if isinstance(pr.get("number"), int):
        return pr["number"]
    # issue_comment events on a pull request
    issue = event.get("issue") or {}
    if issue.get("pull_request") and isinstance(issue.get("number"), int):
        return issue["number"]
    return None


def body_of(report):
    body = f"{MARKER}\n{report}"
    if len(body) <= LIMIT:
        return body
    note = "\n\n_The report was cut to fit GitHub's comment limit; the job summary has all of it._\n"
    cut = body[: LIMIT - len(note)]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    return cut + note


def main():
    if len(sys.argv) != 2:
        print("usage: pr-comment.py REPORT.md", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        report = f.read()
    number = pr_number(os.environ.get("GITHUB_EVENT_PATH", ""))
    if number is None:
        print("migrade: not a pull request event; no PR comment posted")
        return 0
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    repo = os.environ.get("GITHUB_REPOSITORY", "")
    token = os.environ.get("GITHUB_TOKEN", "")
    if "/" not in repo:
        print(f"migrade: GITHUB_REPOSITORY is not owner/name ({repo!r}); no PR comment posted", file=sys.stderr)
        return 1
    body = body_of(report)
    base = f"{api}/repos/{repo}/issues"
    try:
        existing = None
        page = 1
        while existing is None:
            comments = request("GET", f"{base}/{number}/comments?per_page=100&page={page}", token)
            if not isinstance(comments, list):
                break
            existing = next((c for c in comments if MARKER in (c.get("body") or "")), None)
            if len(comments) < 100:
                break
            page += 1
        if existing is not None:
            c = request("PATCH", f"{base}/comments/{existing['id']}", token, {"body": body})
            print(f"migrade: updated the PR comment {c.get('html_url') or existing['id']}")
        else:
            c = request("POST", f"{base}/{number}/comments", token, {"body": body})
            print(f"migrade: posted the PR comment {c.get('html_url') or c.get('id')}")
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", "replace")[:300]
        hint = ""
        if e.code in (401, 403, 404):
            hint = (
                " (the token needs `pull-requests: write`; on pull requests from forks"
                " GitHub gives a read-only token)"
            )
        print(f"migrade: the GitHub API answered HTTP {e.code} to {e.url}{hint}: {detail}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, ValueError) as e:
        print(f"migrade: could not reach the GitHub API at {api}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
