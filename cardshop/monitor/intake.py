"""The first look at a worker's message, before anything is decoded: untrusted bytes in, a dict or a reason out.

kombu would inflate a `compression` header (a 785-byte bz2 body became
2.1 GB) and decode any content type before our checks; here the raw body is
checked first: no compression, JSON only, at most MAX_BODY bytes, then
parsed. Anything else is dropped by the caller and counted.
"""

import json

MAX_BODY = 64 * 1024  # a report's fields are bounded far below this (pipeline/reports.py)
_ENCODINGS = (None, "", "utf-8", "utf8", "binary")


class Unusable(Exception):
    """Why a message is dropped unread: `why` is the counter's name, the message the detail."""

    def __init__(self, why, detail):
        super().__init__(detail)
        self.why = why


def read(message, max_body=MAX_BODY):
    """The message's JSON body, or Unusable; nothing is decompressed or decoded before the checks."""
    headers = message.headers or {}
    if "compression" in headers:
        raise Unusable("compressed", f"compression {str(headers['compression'])[:60]!r} is refused")
    body = message.body
    if isinstance(body, str):
        body = body.encode()
    if len(body) > max_body:
        raise Unusable("too_large", f"{len(body)} bytes (at most {max_body})")
    if message.content_type != "application/json":
        raise Unusable("undecodable", f"content type {str(message.content_type)[:60]!r}, not application/json")
    if message.content_encoding not in _ENCODINGS:
        raise Unusable("undecodable", f"content encoding {str(message.content_encoding)[:60]!r}")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Unusable("undecodable", f"not JSON: {str(exc)[:100]}") from None
