"""A local stand-in for a release download server (no network needed): plain static
files over HTTP, with Range requests and an optional flaky connection.

``files`` maps URL paths (``/owner/repo/releases/download/v1/model.pth``) to bytes.
``cuts[path]`` is a list of byte counts: each response to that path sends only the first
count's worth of its body, then hangs up (a dropped connection), until the list is used
up. ``redirects[path] = other`` answers ``path`` with a 302 to ``other`` (release
downloads redirect to a file host). ``ignore_range`` answers every request with the whole file (200), as some servers do.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeReleaseServer:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range)
        self.cuts: dict[str, list[int]] = {}
        self.redirects: dict[str, str] = {}
        self.ignore_range = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                server._serve(self, body=False)

            def do_GET(self) -> None:
                server._serve(self, body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeReleaseServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def ranges(self, path: str) -> list[str | None]:
        """The Range header of every GET of ``path``, in order."""
        return [r for m, p, r in self.requests if m == "GET" and p == path]

    def _serve(self, h: BaseHTTPRequestHandler, body: bool) -> None:
        path = h.path.split("?", 1)[0]
        rng = h.headers.get("Range")
        self.requests.append((h.command, path, rng))
        if path in self.redirects:
            return self._send(h, 302, b"", body, {"Location": self.base_url + self.redirects[path]})
        data = self.files.get(path)
        if data is None:
            return self._send(h, 404, b"Not Found", body)
        status, start = 200, 0
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if rng and rng.startswith("bytes=") and not self.ignore_range:
            first, _, last = rng[6:].partition("-")
            start = int(first)
            end = int(last) if last else len(data) - 1
            if start >= len(data):
                headers = {"Content-Range": f"bytes */{len(data)}"}
                return self._send(h, 416, b"", body, headers)
            data = data[start : end + 1]
            status = 206
            headers["Content-Range"] = (
                f"bytes {start}-{start + len(data) - 1}/{len(self.files[path])}"
            )
        cuts = self.cuts.get(path)
        cut = cuts.pop(0) if (cuts and body) else None
        headers["Content-Length"] = str(len(data))
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        if not body:
            return None
        if cut is None:
            h.wfile.write(data)
            return None
        h.wfile.write(data[:cut])
        h.wfile.flush()
        h.close_connection = True
        try:  # hang up mid-body, like a dropped connection
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return None

    @staticmethod
    def _send(h, status: int, data: bytes, body: bool, headers: dict | None = None) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if body:
            h.wfile.write(data)


def closed_port_url() -> str:
    """A local URL nobody listens on: connecting to it is refused, as when offline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
