"""The reference server: a bare Bottle route returning a constant, on Waitress.

Run as a process of its own: python -m bench.baseline PORT THREADS
"""

import sys

import bottle
import waitress


def main(port, threads):
    app = bottle.Bottle()

    @app.route("/constant")
    def constant():
        bottle.response.content_type = "application/json"
        return '{"status":"ok"}'

    waitress.serve(app, host="127.0.0.1", port=port, threads=threads, ident="baseline", _quiet=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
