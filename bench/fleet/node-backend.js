// The original backend's shape (socket.io 4 + jsonwebtoken, as the media service runs
// it), only as a yardstick for bench/fleet.py: JWT in the handshake, one room per user,
// the last state cached per user, relays to the user's other sockets, ping/pong, and
// the validation a careful Node service would do. Not part of the product.
"use strict";
const http = require("http");
const { Server } = require("socket.io");
const jwt = require("jsonwebtoken");

const [port, secret] = [Number(process.argv[2]), process.argv[3]];
const COMMANDS = new Set(["play", "pause", "next", "previous", "seek"]);
const cache = new Map(); // userId -> last PlaybackState

const server = http.createServer();
const ioServer = new Server(server, { cors: { origin: "*" } });

ioServer.use((socket, next) => {
  try {
    const claims = jwt.verify(socket.handshake.auth.token, secret, { algorithms: ["HS256"] });
    if (!Number.isInteger(claims.userId)) throw new Error("no numeric userId");
    socket.data.userId = claims.userId;
    next();
  } catch (err) {
    next(new Error("Authentication error"));
  }
});

ioServer.on("connection", (socket) => {
  const userId = socket.data.userId;
  const room = `user:${userId}`;
  socket.join(room);
  if (cache.has(userId)) socket.emit("playback_state", cache.get(userId));
  socket.on("playback_state_update", (state) => {
    const fine = state && typeof state.isPlaying === "boolean" &&
      Number.isFinite(state.currentTime) && state.currentTime >= 0 &&
      Number.isFinite(state.duration) && state.duration >= 0;
    if (!fine) return socket.emit("error", { message: "invalid playback state" });
    const wire = { ...state, userId };
    cache.set(userId, wire);
    socket.to(room).emit("playback_state", wire);
  });
  socket.on("carplay_command", (cmd) => {
    const fine = cmd && COMMANDS.has(cmd.command) &&
      (cmd.command !== "seek" || (Number.isFinite(cmd.value) && cmd.value >= 0));
    if (!fine) return socket.emit("error", { message: "invalid command" });
    const wire = cmd.command === "seek" ? { command: "seek", value: cmd.value } : { command: cmd.command };
    socket.to(room).emit("carplay_command", wire);
  });
  socket.on("ping", () => socket.emit("pong"));
});

server.listen(port, "127.0.0.1", () => console.log(`node backend listening on http://127.0.0.1:${port}`));
