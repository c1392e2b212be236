"""Local stand-ins for GitHub, on 127.0.0.1 only, for tests/action.rs.

  python3 fake_servers.py release DIR    serves DIR as a release download site
  python3 fake_servers.py github LOG     a minimal GitHub REST API for PR comments

Each prints its port on the first line of stdout, then serves until killed.

The GitHub stand-in keeps issue comments in memory (PR 7 of octo/app starts with
120 comments by others, so the report's comment is found only on page 2), checks
the token and API headers the real API expects, and appends one JSON line per
request to LOG: {"method", "path", "auth", "body"}.
"""

import functools
import http.server
import json
import sys
import urllib.parse

TOKEN = "fake-token"


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def release(directory):
    handler = functools.partial(Quiet, directory=directory)
    return http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)


def github(log_path):
    comments = [
        {"id": 1000 + i, "body": f"comment {i} by someone else", "user": {"login": "someone"}} for i in range(120)
    ]
    next_id = [5000]

    class Api(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, code, obj):
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def handle_any(self, method):
            url = urllib.parse.urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(
                    json.dumps(
                        {"method": method, "path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                    )
                    + "\n"
                )
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.send(401, {"message": "Bad credentials"})
            if self.headers.get("X-GitHub-Api-Version") != "2022-11-28":
                return self.send(400, {"message": "missing X-GitHub-Api-Version"})
            parts = url.path.strip("/").split("/")
            # repos/octo/app/issues/7/comments | repos/octo/app/issues/comments/ID
            if parts[:4] != ["repos", "octo", "app", "issues"]:
                return self.send(404, {"message": "Not Found"})
            if method == "GET" and len(parts) == 6 and parts[4] == "7" and parts[5] == "comments":
                q = urllib.parse.parse_qs(url.query)
                per_page = min(int(q.get("per_page", ["30"])[0]), 100)
                page = int(q.get("page", ["1"])[0])
                return self.send(200, comments[(page - 1) * per_page : page * per_page])
            if method == "POST" and len(parts) == 6 and parts[4] == "7" and parts[5] == "comments":
                c = {"id": next_id[0], "body": body["body"], "user": {"login": "github-actions[bot]"}}
                c["html_url"] = f"https://github.example/octo/app/pull/7#issuecomment-{c['id']}"
                next_id[0] += 1
                comments.append(c)
                return self.send(201, c)
            if method == "PATCH" and len(parts) == 6 and parts[4] == "comments":
                for c in comments:
                    if str(c["id"]) == parts[5]:
                        c["body"] = body["body"]
                        return self.send(200, c)
            return self.send(404, {"message": "Not Found"})

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

        def do_PATCH(self):
            self.handle_any("PATCH")

    return http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)


if __name__ == "__main__":
    kind, arg = sys.argv[1], sys.argv[2]
    server = release(arg) if kind == "release" else github(arg)
    print(server.server_address[1], flush=True)
    server.serve_forever()
