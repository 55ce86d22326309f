"""Helpers of the security tests: racing callers, and requests from another loopback address."""

import http.client
import json
import threading
import urllib.parse


def race(count, attempt):
    """Run `attempt(i)` in `count` threads released at once; return the results in order."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(index):
        barrier.wait()
        try:
            results[index] = attempt(index)
        except Exception as exc:  # the test looks at what each caller got
            results[index] = exc

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def post_from(source, base_url, path, body, content_type="application/json", headers=None):
    """POST from loopback address `source` (any 127.x works on Linux) with more `headers`;
    returns (status, headers, text)."""
    url = urllib.parse.urlsplit(base_url)
    data = body if isinstance(body, bytes) else (
        json.dumps(body).encode() if content_type == "application/json" else urllib.parse.urlencode(body).encode())
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30, source_address=(source, 0))
    try:
        connection.request("POST", path, data, {"Content-Type": content_type, **(headers or {})})
        reply = connection.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read().decode()
    finally:
        connection.close()
