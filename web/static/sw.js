// Service worker (PWA). It must never serve a stale client after an upgrade, so:
// - the page and the other app files are fetched network-first (revalidating HTTP caches) and
//   the cache is only the offline fallback; files whose URL carries the build hash (`?v=`,
//   app.js and app.css) are cache-first, since that URL's content never changes;
// - the cache is versioned by the build hash the build script writes below, so a new build is a
//   new worker (byte-different) that deletes the old caches on activation and takes over at once;
// - nothing but the app's own static files is intercepted (signalling, /turn, /health and the
//   file-transfer routes under files/ pass through),
//   and an HTTP error (e.g. 401 after a password change) is returned as is, never replaced by cache.
const BUILD = '__BUILD_HASH__';
const CACHE = `selkies-web-${BUILD}`;
const FILES = __APP_FILES__;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((c) => Promise.all(FILES.map((f) => c.add(new Request(f, { cache: 'reload' })).catch(() => {}))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('selkies-web-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function isAppFile(url) {
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return false;
  const rel = url.pathname.slice(scope.pathname.length);
  return rel === '' || FILES.includes(rel);
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  // File transfer (docs/files.md): listings and downloads always come from the host and are never
  // cached (a large download must stream, not fill the cache).
  if (url.pathname.slice(new URL(self.registration.scope).pathname.length).startsWith('files/')) return;
  const navigation = req.mode === 'navigate';
  if (!navigation && !isAppFile(url)) return;
  // `app.js?v=<hash>` and `app.css?v=<hash>` never change under that URL (the hash is of the
  // build), so they come from the cache first; only the page itself must be fresh.
  if (!navigation && url.searchParams.get('v')) {
    event.respondWith(
      caches.open(CACHE).then(async (c) => {
        const hit = await c.match(req);
        if (hit) return hit;
        try {
          const res = await fetch(req);
          if (res.ok && res.type === 'basic') c.put(req, res.clone()).catch(() => {});
          return res;
        } catch {
          return (await c.match(req, { ignoreSearch: true })) ?? Response.error();
        }
      }),
    );
    return;
  }
  event.respondWith(
    fetch(req, { cache: 'no-cache' })
      .then((res) => {
        if (res.ok && res.type === 'basic') {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(navigation ? 'index.html' : req, copy)).catch(() => {});
        }
        return res;
      })
      .catch(async () => {
        const c = await caches.open(CACHE);
        const hit = await c.match(navigation ? 'index.html' : req, { ignoreSearch: true });
        return hit ?? Response.error();
      }),
  );
});
