/* The producer app's service worker (served as /producer/sw.js, scope /producer/): the app shell is kept
 * at install, every page of the app seen online is kept as it was last seen, and without signal a page
 * comes from what was kept. Network first: online, pages are always fresh (a recall shows at once).
 * Posts are never touched: the tablet's queue (static/device.js) holds what waits to be sent. */
"use strict";
const SHELL = "farmtrace-shell-v1";
const PAGES = "farmtrace-pages-v1"; // also filled by device.js with the forms of the lots seen
const SCOPE = new URL(self.registration.scope).pathname;
const SHELL_URLS = [SCOPE, SCOPE + "queue", SCOPE + "device", SCOPE + "new", "/static/site.css", "/static/verify.js",
  "/static/device.js", "/static/scan.js"];
const NOT_KEPT = /\/(sw\.js|keys\.json|head\.json)$|\/labels|\.png$/;

self.addEventListener("install", (ev) => {
  ev.waitUntil(caches.open(SHELL).then((c) => c.addAll(SHELL_URLS)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (ev) => {
  ev.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n !== SHELL && n !== PAGES).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});
self.addEventListener("fetch", (ev) => {
  const req = ev.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || NOT_KEPT.test(url.pathname)) return;
  if (!url.pathname.startsWith(SCOPE) && !url.pathname.startsWith("/static/")) return;
  ev.respondWith((async () => {
    try {
      const res = await fetch(req);
      if (res.ok && !res.redirected && !/no-store/.test(res.headers.get("Cache-Control") || "")) {
        const copy = res.clone();
        const shell = SHELL_URLS.includes(url.pathname) && !url.search;
        ev.waitUntil(caches.open(shell ? SHELL : PAGES).then((c) => c.put(req, copy)));
      }
      return res;
    } catch (err) { // no signal
      const kept = await caches.match(req, { ignoreSearch: req.mode === "navigate" });
      if (kept) return kept;
      if (req.mode === "navigate") return (await caches.match(SCOPE)) || Response.error();
      return Response.error();
    }
  })());
});
