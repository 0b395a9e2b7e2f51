// node: Node.js's http module on one event loop (libuv over epoll), the way
// people write a Node server. Its C++ twin is `epoll`. sleep_us blocks the
// loop's one thread in Atomics.wait, as a synchronous driver call would,
// so every other connection waits; wait_us is setTimeout, a timer, and the
// loop serves others meanwhile. cpu_us is this thread's CPU where Node has
// a clock for it (process.threadCpuUsage, Node 23.9 on); before, it burns
// until both the process's CPU and the wall clock have advanced that much
// (the process's CPU alone counts its compiler's and collector's threads).
// The workload and its limits: docs/server-contract.md.
'use strict';

const http = require('http');
const { parseArgs } = require('util');

const MAX_BODY_BYTES = 1024 * 1024;
const LIMITS = { cpu_us: 60e6, sleep_us: 60e6, wait_us: 60e6, bytes: 64 * 1024 * 1024 };
const HELLO = Buffer.from('Hello, World!');
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
const blocker = new Int32Array(new SharedArrayBuffer(4));

// The query's work: unknown keys are ignored; a value that is not a whole
// number within its key's limit is null (a 400).
function parseWork(url) {
  const work = { cpu_us: 0, sleep_us: 0, wait_us: 0, bytes: -1 };
  const question = url.indexOf('?');
  if (question < 0) return work;
  for (const field of url.slice(question + 1).split('&')) {
    const equals = field.indexOf('=');
    const key = equals < 0 ? field : field.slice(0, equals);
    const value = equals < 0 ? '' : field.slice(equals + 1);
    if (!(key in LIMITS)) continue;
    if (!/^[0-9]+$/.test(value) || Number(value) > LIMITS[key]) return null;
    work[key] = Number(value);
  }
  return work;
}

// What the models refuse that Node's parser lets through: 0 when none.
function refusal(req) {
  if (!METHODS.has(req.method)) return 501;
  if (req.headers['transfer-encoding'] !== undefined) return 501; // chunked bodies
  if (Number(req.headers['content-length'] || 0) > MAX_BODY_BYTES) return 413;
  if (req.httpVersion === '1.1' && req.headers.host === undefined) return 400;
  return 0;
}

const cpuUsage = process.threadCpuUsage ? () => process.threadCpuUsage() : () => process.cpuUsage();

function burnCpu(micros) {
  const start = cpuUsage();
  const wallStart = process.hrtime.bigint();
  let x = 0x9e3779b9;
  for (;;) {
    for (let i = 0; i < 256; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
    const now = cpuUsage();
    const used = now.user - start.user + now.system - start.system;
    const wall = Number(process.hrtime.bigint() - wallStart) / 1000;
    if (used >= micros && (process.threadCpuUsage || wall >= micros)) return x;
  }
}

// Bad input Node's parser finds: its status, then a close that first reads
// what the client still sends for a moment, so that the answer is not lost
// to a reset.
function refuseMalformed(err, socket) {
  if (!socket.writable || err.code === 'ECONNRESET') return socket.destroy();
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const reason = http.STATUS_CODES[status] + '\n';
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\n` +
             `Content-Length: ${reason.length}\r\nConnection: close\r\n\r\n${reason}`);
  socket.on('data', () => {});
  socket.resume();
  setTimeout(() => socket.destroy(), 200).unref();
}

function answer(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
}

function serve(req, res) {
  const status = refusal(req);
  const work = status === 0 ? parseWork(req.url) : null;
  if (work === null) {
    res.shouldKeepAlive = false; // answered, then closed, as the models do
    answer(res, status || 400, Buffer.from(http.STATUS_CODES[status || 400] + '\n'));
    req.resume(); // read what the client still sends: no reset
    return;
  }
  req.resume(); // a body, if any, is read and dropped
  if (work.cpu_us > 0) burnCpu(work.cpu_us);
  if (work.sleep_us > 0) Atomics.wait(blocker, 0, 0, work.sleep_us / 1000);
  const body = work.bytes < 0 ? HELLO : Buffer.alloc(work.bytes, 'x');
  if (work.wait_us > 0) setTimeout(() => answer(res, 200, body), work.wait_us / 1000);
  else answer(res, 200, body);
}

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    'timeout-ms': { type: 'string', default: '0' },
  },
});
const timeout = Number(values['timeout-ms']);
// The models' header limit (431 over it); answers go out without delay.
const server = http.createServer({ maxHeaderSize: 8192, noDelay: true }, serve);
server.on('clientError', refuseMalformed);
// A connection silent for the timeout is closed without an answer.
if (timeout > 0) {
  server.timeout = timeout;
  server.keepAliveTimeout = timeout;
}
server.listen({ host: values.host, port: Number(values.port), backlog: 1024 }, () => {
  console.log(`listening on ${values.host}:${values.port}`);
});
