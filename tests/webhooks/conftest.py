import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks import tasks


@dataclass
class Receiver:
    """A client's real webhook server on loopback: it checks each delivery's signature with `secret` (the one the test
    registers its endpoint with: the factory never tells it) and its event id header, answers 500 to the first
    `failures` good ones, then accepts (200)."""

    url: str = ""
    secret: str = ""
    failures: int = 0
    accepted: list = field(default_factory=list)  # the bodies it took, as JSON
    refused: int = 0
    forged: int = 0  # deliveries whose signature or event id did not check out
    lock: threading.Lock = field(default_factory=threading.Lock)

    def genuine(self, headers, body: bytes) -> bool:
        parts = dict(part.split("=", 1) for part in headers.get("Factory-Signature", "").split(",") if "=" in part)
        expected = hmac.new(self.secret.encode(), f"{parts.get('t')}.".encode() + body, hashlib.sha256).hexdigest()
        return (
            hmac.compare_digest(expected, parts.get("v1", ""))
            and headers.get("Factory-Event-Id") == json.loads(body)["id"]
            and headers.get("Content-Type") == "application/json"
        )

    def answer(self, headers, body: bytes) -> int:
        with self.lock:
            if not self.genuine(headers, body):
                self.forged += 1
                return 400
            if self.refused < self.failures:
                self.refused += 1
                return 500
            self.accepted.append(json.loads(body))
            return 200


@pytest.fixture
def receiver():
    found = Receiver(secret=secrets.token_urlsafe(24))  # the client's own, for the test to register

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(found.answer(self.headers, body))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # port 0: a free one
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/factory"
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def sent_at_commit(monkeypatch):
    """A delivery queued at commit is sent as a worker would, at once and in this process; the ids, in order."""
    queued = []

    def delay(delivery_id):
        queued.append(delivery_id)
        tasks.send_webhook.apply(args=[delivery_id])

    monkeypatch.setattr(tasks.send_webhook, "delay", delay)
    return queued
