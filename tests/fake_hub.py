"""A local stand-in for the model hub's HTTP file layout (no network needed).

Serves ``/api/models/<repo>/revision/<rev>`` (file list with sizes and LFS sha256) and
``/<repo>/resolve/<rev>/<file>`` (HEAD/GET with Range), from a folder on disk.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, repos: dict[str, Path]) -> None:
        self.repos = repos
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, range)
        # filename -> bytes sent per response before hanging up (a flaky connection)
        self.truncate: dict[str, int] = {}
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                hub._serve(self, body=False)

            def do_GET(self) -> None:
                hub._serve(self, body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _files(self, repo: str) -> dict[str, Path]:
        root = self.repos[repo]
        return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}

    def _serve(self, h: BaseHTTPRequestHandler, body: bool) -> None:
        path = h.path.split("?", 1)[0]
        self.requests.append((h.command, path, h.headers.get("Range")))
        if path.startswith("/api/models/"):
            repo = path[len("/api/models/") :].split("/revision/")[0]
            if repo not in self.repos:
                return self._send(
                    h, 404, b'{"error": "Repository not found"}', {"X-Error-Code": "RepoNotFound"}
                )
            siblings = []
            for name, p in self._files(repo).items():
                data = p.read_bytes()
                entry = {"rfilename": name, "size": len(data)}
                if name.endswith((".bin", ".safetensors")):
                    entry["lfs"] = {
                        "size": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "pointerSize": 134,
                    }
                siblings.append(entry)
            payload = json.dumps({"id": repo, "modelId": repo, "sha": COMMIT, "siblings": siblings})
            return self._send(h, 200, payload.encode(), {"Content-Type": "application/json"}, body)
        parts = path.lstrip("/").split("/")
        if len(parts) >= 5 and parts[2] == "resolve":
            repo, filename = "/".join(parts[:2]), "/".join(parts[4:])
            files = self._files(repo) if repo in self.repos else {}
            if filename not in files:
                return self._send(h, 404, b"not found", {"X-Error-Code": "EntryNotFound"}, body)
            data = files[filename].read_bytes()
            etag = f'"{hashlib.sha256(data).hexdigest()}"'
            headers = {
                "X-Repo-Commit": COMMIT,
                "ETag": etag,
                "Accept-Ranges": "bytes",
                "Content-Type": "application/octet-stream",
            }
            status, start = 200, 0
            rng = h.headers.get("Range")
            if rng and rng.startswith("bytes="):
                start = int(rng[6:].split("-")[0])
                status = 206
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            chunk = data[start:]
            cut = self.truncate.get(filename) if body else None
            headers["Content-Length"] = str(len(chunk))
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.end_headers()
            if body:
                h.wfile.write(chunk if cut is None else chunk[:cut])
                if cut is not None:
                    h.wfile.flush()
                    h.close_connection = True
            return None
        return self._send(h, 404, b"not found", {}, body)

    @staticmethod
    def _send(h, status: int, data: bytes, headers: dict, body: bool = True) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if body:
            h.wfile.write(data)
