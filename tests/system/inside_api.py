"""Call the scheduler API from inside a test system (its loopback is its own, or CARDSHOP_API: an https://
front checked with the CA of CARDSHOP_CA_FILE).

    python3 inside_api.py USER PASSWORD_FILE METHOD PATH [JSON]

Prints {"status": N, "body": ...}. The access token is kept in /root/.api-<USER>
and reused until it is about to expire, so polling does not log in again.
Only the standard library: it runs with the system's python3.
"""

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

API = os.environ.get("CARDSHOP_API", "http://127.0.0.1:8080")
CA_FILE = os.environ.get("CARDSHOP_CA_FILE")


def call(method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(API + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        context = ssl.create_default_context(cafile=CA_FILE) if CA_FILE else None
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


def token(user, password_file):
    cache = f"/root/.api-{user}"
    if os.path.exists(cache):
        saved = json.load(open(cache))
        if saved["until"] > time.time() + 60:
            return saved["token"]
    password = open(password_file).read().strip()
    for _ in range(30):  # 503 while the scheduler's password checks are busy
        status, body = call("POST", "/auth/authorize", {"username": user, "password": password})
        if status != 503:
            break
        time.sleep(1)
    if status != 200:
        sys.exit(f"login as {user}: HTTP {status}: {body}")
    with open(os.open(cache, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump({"token": body["access_token"], "until": time.time() + body["expires_in"]}, handle)
    return body["access_token"]


if __name__ == "__main__":
    user, password_file, method, path = sys.argv[1:5]
    body = json.loads(sys.argv[5]) if len(sys.argv) > 5 else None
    status, answer = call(method, path, body, token(user, password_file))
    print(json.dumps({"status": status, "body": answer}))
