// Event tap on socket.io-client 4.x: connects to the daemon and prints one
// JSON line per thing that happens, for the Rust integration tests to read.
// It runs until its stdin closes.
//   node tap.mjs URL [--ca CERT.pem] [--transport websocket|polling|upgrade]
//                    [--token T] [--roomcode C] [--header "Authorization: ..."]
// With --ca the daemon's certificate is verified against CERT.pem.
// Lines: {"connected":true,"transport":"..."}, {"upgrade":"websocket"},
//        {"event":NAME,"data":...}, {"connect_error":...}, {"disconnect":REASON}
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";

const args = process.argv.slice(2);
const url = args[0];
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const transport = opt("--transport") || "upgrade";
const auth = {};
if (opt("--token")) auth.token = opt("--token");
if (opt("--roomcode")) auth.roomcode = opt("--roomcode");
const extraHeaders = {};
if (opt("--header")) {
  const h = opt("--header");
  const i = h.indexOf(":");
  extraHeaders[h.slice(0, i).trim()] = h.slice(i + 1).trim();
}
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const socket = io(url, {
  ...(opt("--ca") ? { ca: readFileSync(opt("--ca")) } : { rejectUnauthorized: false }),
  transports: transport === "upgrade" ? ["polling", "websocket"] : [transport],
  upgrade: transport === "upgrade",
  // As real clients do: a transport failure is retried; a refusal by the
  // server (connect_error from its middleware) is not.
  reconnection: true,
  reconnectionAttempts: 3,
  reconnectionDelay: 200,
  auth,
  extraHeaders,
});
socket.on("connect", () => {
  out({ connected: true, transport: socket.io.engine.transport.name });
  socket.io.engine.on("upgrade", (t) => out({ upgrade: t.name }));
});
socket.on("connect_error", (err) => {
  const detail = err.description ?? err.context?.status ?? err.context?.message;
  const line = detail === undefined ? { connect_error: err.message } : { connect_error: err.message, detail: String(detail) };
  if (socket.active) {
    // Will retry: report it as a transport notice, not as the outcome.
    out({ retrying: line });
    return;
  }
  out(line);
  process.exit(0);
});
socket.on("disconnect", (reason) => {
  out({ disconnect: reason });
  process.exit(0);
});
socket.onAny((event, data) => out({ event, data }));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
