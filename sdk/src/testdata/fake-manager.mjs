// A stand-in manager for the SDK's auto-start tests, started as `<node> fake-manager.mjs
// manager serve --socket PATH`. It answers pyro.manager.v1.SystemService/GetVersion over
// gRPC and, like the real manager, refuses to start when another one owns the socket.
// Plain JavaScript on purpose: it runs in a child process without a TypeScript loader.
import { appendFileSync } from "node:fs";
import { createServer } from "node:http2";

const args = process.argv.slice(2);
const socket = args[args.indexOf("--socket") + 1];
const delayMs = Number(process.env.FAKE_MANAGER_DELAY_MS || 0);
const startedLog = process.env.FAKE_MANAGER_STARTED_LOG;

function varint(n) {
  const out = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

// GetVersionResponse { version = 1; pid = 2 }, in a gRPC length-prefixed frame.
const version = Buffer.from("0.0.0-fake");
const body = Buffer.from([0x0a, version.length, ...version, 0x10, ...varint(process.pid)]);
const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);

const server = createServer();
server.on("stream", (stream, headers) => {
  stream.resume();
  stream.on("end", () => {
    if (headers[":path"] !== "/pyro.manager.v1.SystemService/GetVersion") {
      stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12", "grpc-message": "not in the fake" }, { endStream: true });
      return;
    }
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(frame);
  });
});

setTimeout(() => {
  server.once("error", () => process.exit(1)); // EADDRINUSE: another manager owns the socket
  server.listen(socket, () => {
    if (startedLog) appendFileSync(startedLog, `${process.pid}\n`);
  });
}, delayMs);
// Never outlive a test run by much, whatever happens to the test.
setTimeout(() => process.exit(0), 60_000).unref();
