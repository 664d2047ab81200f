"""A local OpenAI-compatible HTTP server for tests and benchmarks: every chat completion answers
``reply`` after ``delay`` seconds; ``/count`` says how many completions it served.

    python -m tests.fakeopenai PORT REPLY_FILE DELAY     (or use ``serve()`` in-process)
"""
from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def serve(reply: str, delay: float = 0.0, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start the server in a thread; returns it and its base URL (``http://127.0.0.1:PORT/v1``)."""
    served = {"n": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            """Quiet: no access log on stderr."""

        def _send(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._send({"count": served["n"]})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            self.rfile.read(length)
            time.sleep(delay)
            with lock:
                served["n"] += 1
            self._send({"id": "x", "object": "chat.completion", "created": 0, "model": "fake",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}})

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def count(base_url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(base_url.rsplit("/v1", 1)[0] + "/count") as r:
        return json.loads(r.read())["count"]


if __name__ == "__main__":
    srv, url = serve(Path(sys.argv[2]).read_text(), float(sys.argv[3]), int(sys.argv[1]))
    print(url, flush=True)
    threading.Event().wait()
