"""A local HTTP receiver for the webhook tests and the benchmark: a real server on 127.0.0.1 in a
thread, answering from a script of behaviours and recording what it accepted."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """`behaviour` is a callable (request number) -> one of: an int status code, ("redirect",
    location), ("slow", seconds), ("huge", bytes), ("status", code, body). Received requests
    (headers dict, body text) are in `requests`; accepted ones (2xx) in `accepted`."""

    def __init__(self, behaviour=lambda n: 200):
        self.behaviour = behaviour
        self.requests: list[tuple[dict, str, str]] = []
        self.accepted: list[tuple[dict, str, str]] = []
        self.lock = threading.Lock()
        self.in_flight = self.max_in_flight = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # one segment per answer: no 40 ms delayed-ACK stall per request

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.requests.append((headers, body, self.path))
                    number = len(receiver.requests)
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                try:
                    self.answer(receiver.behaviour(number), headers, body)
                finally:
                    with receiver.lock:
                        receiver.in_flight -= 1

            def answer(self, what, headers, body):
                if isinstance(what, int):
                    what = ("status", what, b"ok")
                kind = what[0]
                if kind == "redirect":
                    self.send_response(302)
                    self.send_header("Location", what[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if kind == "slow":
                    time.sleep(what[1])
                    what = ("status", 200, b"late")
                if kind == "ok_after":  # answer 200 after a short pause (overlap is observable)
                    time.sleep(what[1])
                    what = ("status", 200, b"ok")
                if kind == "huge":
                    self.send_response(200)
                    self.send_header("Content-Length", str(what[1]))
                    self.end_headers()
                    chunk = b"x" * 65536
                    sent = 0
                    try:
                        while sent < what[1]:
                            self.wfile.write(chunk)
                            sent += len(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                code, payload = what[1], what[2]
                self.send_response(code)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                if 200 <= code < 300:
                    with receiver.lock:
                        receiver.accepted.append((headers, body, self.path))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
