// Caches the page itself so it opens at once (and with no network); nothing else.
// API answers, cover art and the socket never pass through here: they belong to one
// user and one moment, and a shared phone must not show them to the next user.
'use strict';
const CACHE = 'headunit-page-v1';
const PAGE = ['./', 'index.html', 'app.js', 'app.css', 'socket.io.min.js', 'manifest.webmanifest',
  'icon.svg', 'icon-192.png', 'icon-512.png'];
const scope = new URL(self.registration.scope);
const CACHED = new Set(PAGE.map((name) => new URL(name, scope).pathname));

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PAGE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

// The cached copy at once, a fresh one fetched behind it for the next opening.
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== scope.origin || !CACHED.has(url.pathname)) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(event.request, { ignoreSearch: true });
      const fresh = fetch(event.request)
        .then((response) => {
          if (response.ok) cache.put(event.request, response.clone());
          return response;
        })
        .catch(() => cached);
      return cached || fresh;
    }),
  );
});
