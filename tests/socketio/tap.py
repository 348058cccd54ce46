"""Event tap on python-socketio 5.x (asyncio client); same protocol as tap.mjs.

    python3 tap.py URL [--ca CERT.pem] [--transport websocket|polling|upgrade]
                       [--token T] [--roomcode C] [--header "Authorization: ..."]

Prints one JSON line per thing that happens and runs until stdin closes.
The asyncio client is used because it hands events to handlers in the order
they arrive (the threaded client dispatches each on its own thread).
With --ca the daemon's certificate is verified against CERT.pem.
"""
import asyncio
import json
import ssl
import sys

import aiohttp
import socketio


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main():
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

    if opt("--ca"):
        ctx = ssl.create_default_context(cafile=opt("--ca"))
    else:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    # trust_env=False: ignore proxy and CA-bundle variables of the environment.
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx), trust_env=False)
    sio = socketio.AsyncClient(http_session=session, ssl_verify=True, reconnection=False)
    done = asyncio.Event()

    @sio.event
    async def connect():
        out({"connected": True, "transport": sio.transport()})

    @sio.event
    async def connect_error(data):
        msg = data.get("message") if isinstance(data, dict) else data
        out({"connect_error": msg})
        done.set()

    @sio.event
    async def disconnect(*reason):
        out({"disconnect": str(reason[0]) if reason else "disconnect"})
        done.set()

    @sio.on("*")
    async def any_event(event, data):
        out({"event": event, "data": data})

    transports = {"websocket": ["websocket"], "polling": ["polling"]}.get(
        transport, ["polling", "websocket"])
    try:
        await sio.connect(url, transports=transports, auth=auth or None,
                          headers=headers, wait_timeout=10)
    except socketio.exceptions.ConnectionError as e:
        if not done.is_set():
            out({"connect_error": str(e)})
        await session.close()
        return

    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait([asyncio.ensure_future(done.wait()), stdin_closed],
                       return_when=asyncio.FIRST_COMPLETED)
    if sio.connected:
        await sio.disconnect()
    await session.close()


if __name__ == "__main__":
    asyncio.run(main())
