"""Real local servers the notifications tests talk to: an SMTP server (aiosmtpd), an Aliyun SMS stand-in that
checks the documented signature itself, a WeChat API stand-in, and stand-ins for ticketing/dispatch endpoints."""

from __future__ import annotations

import base64
import email
import hashlib
import hmac
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from aftersales_shared.dev.devstack import free_port


class _SmtpHandler:
    def __init__(self, box: SmtpServer) -> None:
        self.box = box

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 - aiosmtpd's hook name
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        with self.box.lock:
            self.box.messages.append({"to": list(envelope.rcpt_tos), "subject": str(msg["Subject"]),
                                      "body": msg.get_content(), "delivery_id": msg["X-Delivery-Id"],
                                      "message_id": msg["Message-ID"]})
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on a free loopback port; ``messages`` is what it accepted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if address in m["to"]]


def _pop_encode(value: str) -> str:
    # written independently of the adapter: urlencode's quote_via with RFC 3986's unreserved set
    return urllib.parse.quote(value, safe="-_.~")


def aliyun_expected_signature(secret: str, method: str, params: dict[str, str]) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(_pop_encode(k) + "=" + _pop_encode(v) for k, v in pairs)
    to_sign = method + "&" + _pop_encode("/") + "&" + _pop_encode(canonical)
    return base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


@dataclass
class HttpStandIn:
    """A ThreadingHTTPServer on a free port dispatching to ``handle(method, path, query, body, headers)``."""

    port: int = field(default_factory=free_port)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes,
               headers: dict[str, str]) -> tuple[int, Any]:
        raise NotImplementedError

    def __enter__(self) -> HttpStandIn:
        owner = self

        class H(BaseHTTPRequestHandler):
            def _do(self, method: str) -> None:
                url = urllib.parse.urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with owner.lock:
                    owner.requests.append({"method": method, "path": url.path})
                status, payload = owner.handle(method, url.path, urllib.parse.parse_qs(url.query), body, headers)
                raw = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:  # noqa: N802
                self._do("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._do("POST")

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class AliyunSms(HttpStandIn):
    """dysmsapi SendSms: verifies the signature (as documented) before accepting; ``down`` answers 503."""

    access_key_id: str = "LTAI-test"
    secret: str = "test-secret-key"
    down: bool = False
    sent: list[dict[str, str]] = field(default_factory=list)
    bad_signatures: int = 0

    def handle(self, method, path, query, body, headers):  # noqa: ANN001, ANN201
        if self.down:
            return 503, {"Code": "ServiceUnavailable"}
        params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        ok = (params.get("AccessKeyId") == self.access_key_id and params.get("SignatureMethod") == "HMAC-SHA1"
              and params.get("SignatureVersion") == "1.0" and params.get("Action") == "SendSms"
              and hmac.compare_digest(params.get("Signature", ""),
                                      aliyun_expected_signature(self.secret, method, params)))
        if not ok:
            with self.lock:
                self.bad_signatures += 1
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}
        with self.lock:
            self.sent.append(params)
            n = len(self.sent)
        return 200, {"Code": "OK", "Message": "OK", "BizId": f"biz-{self.port}-{n}", "RequestId": f"req-{n}"}

    def to(self, phone: str) -> list[dict[str, Any]]:
        with self.lock:
            return [{**p, "vars": json.loads(p["TemplateParam"])} for p in self.sent if p["PhoneNumbers"] == phone]


@dataclass
class Wechat(HttpStandIn):
    app_id: str = "wx-test"
    secret: str = "wx-secret"
    sent: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, method, path, query, body, headers):  # noqa: ANN001, ANN201
        if path == "/cgi-bin/token":
            if query.get("appid") == [self.app_id] and query.get("secret") == [self.secret]:
                return 200, {"access_token": "tok-1", "expires_in": 7200}
            return 200, {"errcode": 40013, "errmsg": "invalid appid"}
        if path == "/cgi-bin/message/template/send":
            if query.get("access_token") != ["tok-1"]:
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            with self.lock:
                self.sent.append(json.loads(body))
                return 200, {"errcode": 0, "errmsg": "ok", "msgid": len(self.sent)}
        return 404, {}


@dataclass
class Ticketing(HttpStandIn):
    """Ticketing's endpoints for the notifier role: a ticket's contact, satisfaction, complaints (the real ones
    are tested in tests/ticketing/test_notifier.py, and the client against the real app in
    tests/notifications/test_ticketing_client.py)."""

    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    callbacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    complaints: list[dict[str, Any]] = field(default_factory=list)
    token: str = "svc-token"

    def handle(self, method, path, query, body, headers):  # noqa: ANN001, ANN201
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"code": "unauthorized"}
        parts = path.strip("/").split("/")
        if method == "GET" and parts[:2] == ["v1", "tickets"] and len(parts) == 4 and parts[3] == "contact":
            t = self.tickets.get(parts[2])
            return (200, t) if t else (404, {"code": "not_found"})
        if method == "POST" and parts[:2] == ["v1", "tickets"] and len(parts) == 4 and parts[3] == "satisfaction":
            rating = json.loads(body)
            with self.lock:
                c = next((c for c in self.callbacks.values() if str(c.get("ticket_id")) == parts[2]), None)
                if c is None:
                    return 409, {"code": "no_callback"}
                if c["status"] != "pending":
                    same = c.get("satisfaction") == rating["score"] and c.get("channel") == rating["channel"]
                    return (200, c) if same else (409, {"code": "invalid_transition"})
                c.update(status="done", reached=True, satisfaction=rating["score"], channel=rating["channel"],
                         comment=rating.get("comment"))
                return 200, c
        if method == "POST" and path == "/v1/complaints":
            with self.lock:
                c = {"id": f"cmp-{len(self.complaints) + 1}", **json.loads(body)}
                self.complaints.append(c)
            return 201, c
        return 404, {}


@dataclass
class Dispatch(HttpStandIn):
    """Dispatch's endpoints for the notifier: an engineer's name, a job's slots and booking one (the contract in
    clients/dispatch.py; the real dispatch is driven in test_status_page.py once it has them)."""

    engineers: dict[str, str] = field(default_factory=dict)
    slots: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    bookings: dict[str, dict[str, Any]] = field(default_factory=dict)  # Idempotency-Key -> booking

    def handle(self, method, path, query, body, headers):  # noqa: ANN001, ANN201
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "engineers"] and len(parts) == 3 and parts[2] in self.engineers:
            return 200, {"id": parts[2], "name": self.engineers[parts[2]]}
        if parts[:2] == ["v1", "jobs"] and len(parts) == 4 and parts[2] in self.slots:
            job = parts[2]
            if method == "GET" and parts[3] == "slots":
                return 200, {"job_id": job, "slots": self.slots[job]}
            if method == "POST" and parts[3] == "appointment":
                want = json.loads(body)
                key = headers.get("idempotency-key")
                with self.lock:
                    if key in self.bookings:
                        return 200, self.bookings[key]
                    offered = [s for s in self.slots[job] if (_at(s["start"]), _at(s["end"])) ==
                               (_at(want["start"]), _at(want["end"]))]
                    if not offered:
                        return 409, {"code": "slot_not_offered", "field": "start", "detail": "not offered"}
                    self.bookings[key] = {"job_id": job, **want}
                return 200, self.bookings[key]
        return 404, {}


def _at(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)
