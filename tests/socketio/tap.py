"""Event tap on python-socketio 5.x; same protocol as tap.mjs.

    python3 tap.py URL [--ca CERT.pem] [--transport websocket|polling|upgrade]
                       [--token T] [--roomcode C] [--header "Authorization: ..."]

With --ca the daemon's certificate is verified against CERT.pem. The
environment's CA-bundle variables are ignored (requests would otherwise let
REQUESTS_CA_BUNDLE override the verification setting).
"""
import json
import sys
import threading

import requests
import socketio


def main():
    args = sys.argv[1:]
    url = args[0]

    def opt(name):
        return args[args.index(name) + 1] if name in args else None

    transport = opt("--transport") or "upgrade"
    auth = {}
    if opt("--token"):
        auth["token"] = opt("--token")
    if opt("--roomcode"):
        auth["roomcode"] = opt("--roomcode")
    headers = {}
    if opt("--header"):
        k, v = opt("--header").split(":", 1)
        headers[k.strip()] = v.strip()

    lock = threading.Lock()

    def out(obj):
        with lock:
            sys.stdout.write(json.dumps(obj) + "\n")
            sys.stdout.flush()

    session = requests.Session()
    session.trust_env = False
    session.verify = opt("--ca") or False
    sio = socketio.Client(http_session=session, ssl_verify=bool(opt("--ca")),
                          reconnection=False)
    done = threading.Event()

    @sio.event
    def connect():
        out({"connected": True, "transport": sio.transport()})

    @sio.event
    def connect_error(data):
        msg = data.get("message") if isinstance(data, dict) else data
        out({"connect_error": msg})
        done.set()

    @sio.event
    def disconnect(*reason):
        out({"disconnect": str(reason[0]) if reason else "disconnect"})
        done.set()

    @sio.on("*")
    def any_event(event, data):
        out({"event": event, "data": data})

    transports = {"websocket": ["websocket"], "polling": ["polling"]}.get(
        transport, ["polling", "websocket"])
    try:
        sio.connect(url, transports=transports, auth=auth or None,
                    headers=headers, wait_timeout=10)
    except socketio.exceptions.ConnectionError as e:
        if not done.is_set():
            out({"connect_error": str(e)})
        return
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    if sio.connected:
        sio.disconnect()


if __name__ == "__main__":
    main()
