"""A static HTTP server with HEAD and Range support, for sample content.

python -m devstack.content DIR PORT [BYTES_PER_SECOND]   (a rate makes downloads slow on purpose)
"""

import http.server
import os
import re
import sys
import time

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # quiet: tests and the demo read the clients' side
        pass

    def send_head(self):
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return None
        size = os.path.getsize(path)
        handle = open(path, "rb")
        match = _RANGE.match(self.headers.get("Range", ""))
        if match:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else size - 1
            if start >= size:
                handle.close()
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.end_headers()
                return None
            end = min(end, size - 1)
            handle.seek(start)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(end - start + 1))
            self.remaining = end - start + 1
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.remaining = size
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        return handle

    rate = 0

    def copyfile(self, source, outputfile):
        remaining = self.remaining
        chunk = min(1024 * 1024, self.rate // 10) if self.rate else 1024 * 1024
        while remaining > 0:
            block = source.read(min(chunk, remaining))
            if not block:
                break
            outputfile.write(block)
            remaining -= len(block)
            if self.rate:
                time.sleep(len(block) / self.rate)


def main(directory, port, rate=0):
    Handler.rate = rate
    handler = lambda *args, **kwargs: Handler(*args, directory=directory, **kwargs)  # noqa: E731
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
