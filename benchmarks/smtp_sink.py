"""A counting SMTP sink for ``make bench-notify``, in its own process (``python -m benchmarks.smtp_sink``).

Run in the benchmark's own process (a thread beside the producer, as before), aiosmtpd accepted ~150 mails/s:
the two threads handed the GIL back and forth on every SMTP line. Here each sink is a process on uvloop; several
share one port through SO_REUSEPORT. Each accepted mail is one line ``request_id<TAB>accepted_at<TAB>delivery_id``
appended to ``--out``; only the headers are parsed (the request id is the end of the Subject).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from typing import Any

import uvloop
from aiosmtpd.smtp import SMTP

_headers = BytesHeaderParser()


class Counter:
    def __init__(self, out: Any) -> None:
        self.out = out

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        at = time.time()
        content: bytes = envelope.original_content or envelope.content
        head = _headers.parsebytes(content.split(b"\r\n\r\n", 1)[0])
        subject = str(make_header(decode_header(head.get("Subject", ""))))
        request_id = subject.rsplit("：", 1)[-1].strip()
        self.out.write(f"{request_id}\t{at:.6f}\t{head.get('X-Delivery-Id', '')}\n")
        return "250 OK"


async def serve(host: str, port: int, out_path: str) -> None:
    with open(out_path, "a", buffering=1, encoding="utf-8") as out:  # line-buffered: the reader sees each mail
        handler = Counter(out)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(handler, hostname="bench-sink", decode_data=False),
                                          host, port, reuse_port=True)
        async with server:
            await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port, args.out))


if __name__ == "__main__":
    main()
