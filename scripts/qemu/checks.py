#!/usr/bin/env python3
"""REST and Socket.IO checks of a vp2730d reached over the network (the
daemon booted in the QEMU system image; scripts/qemu/system-tests.sh runs
this from the host through QEMU's port forward). Standard library only, plus
the Node Socket.IO tap of the integration tests (tests/socketio/tap.mjs).

  checks.py api URL STATE.json     login, GET of every GET route of the route
                                   table (tests/common/mod.rs), PATCH + read
                                   back, a Socket.IO event via the Node tap; then
                                   sets distinctive settings and records them
  checks.py verify URL STATE.json  the recorded settings read back (after a
                                   daemon kill -9, a VM restart, a power cut)

Prints one line per check and `N passed, N failed` at the end; exit 1 on a
failure.
"""

import base64
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
USER, PASSWORD = "administrator", "password"
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE  # the daemon's certificate is self-signed

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok    {name}")
    else:
        failed += 1
        print(f"  FAIL  {name}: {detail}")
    sys.stdout.flush()
    return ok


def request(base, method, path, token=None, body=None, timeout=30):
    url = base + (path if path.startswith("/api/") or path.startswith("/static/") else "/api/v2.0" + path)
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, context=CTX, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(base, path, token):
    status, _, body = request(base, "GET", path, token)
    if status != 200:
        raise AssertionError(f"GET {path}: {status} {body[:200]!r}")
    return json.loads(body)


def login(base):
    cred = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    status, _, body = request(base, "POST", "/auth/tokens", body={"authorization": cred})
    if status != 200:
        raise AssertionError(f"login: {status} {body[:200]!r}")
    return json.loads(body)["credential"]


def wait_up(base, seconds=60):
    deadline = time.time() + seconds
    last = None
    while time.time() < deadline:
        try:
            status, _, _ = request(base, "GET", "/ping", timeout=5)
            if status == 200:
                return True
            last = status
        except Exception as e:  # connection refused / reset while booting
            last = e
        time.sleep(0.5)
    raise AssertionError(f"{base} did not answer /ping within {seconds}s: {last}")


def routes():
    """The GET routes of the test harness's route table."""
    text = open(os.path.join(REPO, "tests", "common", "mod.rs"), encoding="utf-8").read()
    out = re.findall(r'\(\s*"GET",\s*"(/[^"]+)",\s*Tier::', text)
    if not out:
        raise AssertionError("no GET routes found in tests/common/mod.rs")
    return out


def sample_path(pattern):
    """A concrete path for a pattern, as the harness's sample_path does."""
    if pattern.startswith("/api/v2.0/audio/inputs"):
        ident = "STM1"
    elif pattern.startswith("/api/v2.0/audio/outputs"):
        ident = "ALL"
    elif pattern.startswith("/static/thumbnails"):
        ident = "Snapshot0.bmp"
    elif pattern.startswith("/api/v2.0/system/participants"):
        ident = "nobody"
    else:
        ident = "0"
    return pattern.replace("{id}", ident)


class Tap:
    """tests/socketio/tap.mjs: one JSON line per Socket.IO happening."""

    def __init__(self, base, token, transport):
        node = os.environ.get("VP2730_NODE", "node")
        self.proc = subprocess.Popen(
            [node, os.path.join(REPO, "tests", "socketio", "tap.mjs"), base,
             "--transport", transport, "--token", token],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                v = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.lines.append(v)
                self.cond.notify_all()

    def wait_for(self, pred, seconds=30):
        deadline = time.time() + seconds
        with self.cond:
            while True:
                for i, v in enumerate(self.lines):
                    if pred(v):
                        del self.lines[: i + 1]
                        return v
                left = deadline - time.time()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()


def cmd_api(base, state_file):
    wait_up(base)
    status, headers, body = request(base, "GET", "/ping")
    check("GET /ping", status == 200, f"{status} {body[:100]!r}")
    status, _, body = request(base, "GET", "/system/info")
    check("GET /system/info without credentials is refused", status == 401, f"{status}")
    token = login(base)
    check("POST /auth/tokens (administrator)", bool(token))

    # A GET of every resource in the route table.
    for pattern in routes():
        path = sample_path(pattern)
        status, headers, body = request(base, "GET", path, token)
        if pattern.endswith("{id}") and ("participants" in pattern or "thumbnails" in pattern):
            # No participant named "nobody", no snapshot taken yet: the guide's 404.
            ok = status in (200, 404)
        else:
            ok = status == 200
            if ok and path.startswith("/api/"):
                try:
                    json.loads(body)
                except ValueError:
                    ok = False
        check(f"GET {path}", ok, f"{status} {body[:160]!r}")

    # Socket.IO: the initial state, then an event for a PATCH.
    tap = Tap(base, token, "upgrade")
    try:
        v = tap.wait_for(lambda v: "connected" in v or "connect_error" in v)
        check("Socket.IO connect (socket.io-client, polling then websocket)",
              v is not None and v.get("connected") is True, f"{v}")
        first = tap.wait_for(lambda v: v.get("event") == "/api/v2.0/audio/outputs")
        check("Socket.IO initial state has /api/v2.0/audio/outputs", first is not None, "no event")
        outputs = get_json(base, "/audio/outputs", token)
        volume = 41 if outputs["outputs"][0].get("volume") != 41 else 42
        status, _, body = request(base, "PATCH", "/audio/outputs/ALL", token, {"volume": volume})
        check(f"PATCH /audio/outputs/ALL volume={volume}", status == 204, f"{status} {body[:160]!r}")
        ev = tap.wait_for(lambda v: v.get("event") == "/api/v2.0/audio/outputs")
        got = ev and ev["data"]["outputs"][0].get("volume")
        check("Socket.IO event /api/v2.0/audio/outputs after the PATCH", got == volume, f"{ev}")
        check("event payload equals a GET", ev is not None and ev["data"] == get_json(base, "/audio/outputs", token), "")
    finally:
        tap.close()

    # PATCH + read back, and settings to find again after restarts.
    before = get_json(base, "/video/connections/0", token)
    new_input = "3" if str(before.get("videoInput")) != "3" else "4"
    status, _, body = request(base, "PATCH", "/video/connections/0", token, {"videoInput": new_input})
    check(f"PATCH /video/connections/0 videoInput={new_input}", status == 204, f"{status} {body[:160]!r}")
    after = get_json(base, "/video/connections/0", token)
    check("GET /video/connections/0 reads the PATCH back", str(after.get("videoInput")) == new_input, f"{after}")
    status, _, body = request(base, "PATCH", "/video/connections/0", token, {"videoInput": "no-such-input"})
    check("an invalid PATCH is refused with the guide's error body", status == 400 and b'"code"' in body,
          f"{status} {body[:160]!r}")
    state = {
        "/video/connections/0": get_json(base, "/video/connections/0", token),
        "/audio/outputs": get_json(base, "/audio/outputs", token),
        "/system/room": get_json(base, "/system/room", token),
    }
    with open(state_file, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1)


def cmd_verify(base, state_file, what):
    wait_up(base)
    token = login(base)
    check(f"{what}: login", bool(token))
    with open(state_file, encoding="utf-8") as f:
        state = json.load(f)
    for path, expected in state.items():
        got = get_json(base, path, token)
        check(f"{what}: {path} kept", got == expected, f"expected {expected}, got {got}")


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("api", "verify"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd, base, state_file = sys.argv[1:4]
    try:
        if cmd == "api":
            cmd_api(base, state_file)
        else:
            cmd_verify(base, state_file, sys.argv[4] if len(sys.argv) > 4 else "verify")
    except Exception as e:  # a broken precondition counts as a failure
        check(f"{cmd} ran to the end", False, repr(e))
    print(f"{cmd}: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
