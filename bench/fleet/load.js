// The fleet's load, driven by bench/fleet.py (which starts the backend and reads this
// program's JSON lines on stdout). Node, because one Python process cannot drive 2000
// sockets at thousands of commands a second on this machine without becoming the
// bottleneck itself; its own CPU and event-loop lag are reported with every step.
//
// N users, each a car socket and a phone socket (websocket transport). The phone sends
// `carplay_command` {command: "seek", value: <sequence number>}; the car answers each
// command with `playback_state_update` whose currentTime is that number; the clock
// stops when the phone receives the `playback_state`. A command is lost when no answer
// came within the grace period after its step.
"use strict";
const { io } = require("socket.io-client");
const jwt = require("jsonwebtoken");
const { monitorEventLoopDelay } = require("perf_hooks");

function args() {
  const out = { users: 1000, rates: [200], seconds: 10, grace: 2, deflate: true };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, "");
    if (key === "no-deflate") { out.deflate = false; continue; }
    if (key === "keep-going") { out.keepGoing = true; continue; }
    const value = argv[++i];
    if (key === "rates") out.rates = value.split(",").map(Number);
    else if (["users", "seconds", "grace", "max-p99"].includes(key)) out[key] = Number(value);
    else out[key] = value;
  }
  return out;
}

const opts = args();
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const pending = new Map(); // sequence number -> hrtime (ns) when the phone sent it
let latencies = [];

function open(token) {
  return io(opts.url, {
    transports: ["websocket"],
    auth: { token },
    reconnection: false,
    forceNew: true,
    perMessageDeflate: opts.deflate ? { threshold: 1024 } : false,
    timeout: 60000,
  });
}

function connected(socket) {
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
}

async function user(id) {
  const token = jwt.sign({ userId: id }, opts.secret, { algorithm: "HS256" });
  const car = open(token);
  car.on("carplay_command", (cmd) => {
    car.emit("playback_state_update", {
      userId: id, isPlaying: true, currentTime: cmd.value, duration: 1e9, mediaId: 1,
      mediaTitle: "Track", mediaArtist: "Artist", mediaAlbum: "Album", mediaType: "music",
    });
  });
  await connected(car);
  const phone = open(token);
  phone.on("playback_state", (state) => {
    const sent = pending.get(state.currentTime);
    if (sent === undefined) return; // the cached state a new socket gets, or a late one
    pending.delete(state.currentTime);
    latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
  });
  await connected(phone);
  return { car, phone };
}

async function connectAll() {
  const users = [];
  const batch = 50; // connect in small batches: a storm of handshakes is another benchmark
  for (let first = 1; first <= opts.users; first += batch) {
    const last = Math.min(opts.users, first + batch - 1);
    const ids = [];
    for (let id = first; id <= last; id++) ids.push(id);
    users.push(...(await Promise.all(ids.map(user))));
  }
  return users;
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function step(users, rate, seq) {
  latencies = [];
  pending.clear();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const total = Math.round(rate * opts.seconds);
  let sent = 0;
  say({ event: "step", rate });
  while (sent < total) {
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    const due = Math.min(total, Math.floor(elapsed * rate) + 1);
    for (; sent < due; sent++) {
      const s = seq.next++;
      const { phone } = users[s % users.length];
      pending.set(s, process.hrtime.bigint());
      phone.emit("carplay_command", { command: "seek", value: s });
    }
    await sleep(2);
  }
  const deadline = Date.now() + opts.grace * 1000;
  while (pending.size && Date.now() < deadline) await sleep(20);
  const cpu = process.cpuUsage(cpu0);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  lag.disable();
  const sorted = latencies.slice().sort((a, b) => a - b);
  return {
    event: "result", rate, sent, received: sorted.length, lost: pending.size,
    p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? null,
    gen_cpu: (cpu.user + cpu.system) / 1e6 / wall, gen_lag_p99: lag.percentile(99) / 1e6,
  };
}

async function main() {
  const t0 = Date.now();
  const users = await connectAll();
  say({ event: "connected", sockets: users.length * 2, seconds: (Date.now() - t0) / 1000 });
  await sleep(1000); // the connect storm's tail settles
  const seq = { next: 1 };
  for (const rate of opts.rates) {
    const result = await step(users, rate, seq);
    say(result);
    const failed = result.lost > 0 || result.p99 === null || result.p99 > opts["max-p99"];
    if (failed && !opts.keepGoing) break;
  }
  for (const { car, phone } of users) { car.close(); phone.close(); }
  say({ event: "done" });
  process.exit(0);
}

main().catch((err) => { say({ event: "error", message: String(err && err.message || err) }); process.exit(1); });
