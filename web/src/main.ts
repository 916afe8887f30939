//! Entry point: starts the client (app.ts), or the guest page (guest.ts) when the URL carries a
//! share link, and registers the service worker (sw.js, written by the build with the build hash
//! so an upgrade never leaves a stale client cached).

import { App } from './app.ts';
import { afterMilestone, FIRST_FRAME, milestone } from './milestones.ts';
import { prefetch, prefetchSocket } from './prefetch.ts';
import { rtcConfig } from './session.ts';
import { advertisedTransport, chooseTransport } from './transport.ts';
import { signallingUrl } from './signalling.ts';
import { GuestApp } from './guest.ts';
import { shareToken } from './sharing.ts';

milestone('script start');
const token = shareToken(window.location.search);
if (token) new GuestApp(token).start();
else {
  // The connection's first requests overlap the app's set-up (prefetch.ts).
  prefetch('transport', advertisedTransport);
  prefetch('turn', rtcConfig);
  // The video peer's signalling socket too, unless the URL forces the WebSocket transport
  // (one the host advertises instead is dropped once known: transport.ts).
  if (chooseTransport(window.location.search, null) !== 'websocket') prefetchSocket(signallingUrl(window.location));
  const app = new App();
  milestone('app built');
  app.start();
}

// The worker's registration and install (it fetches every app file again) cost a fresh page
// ~150 ms of its first frame on 2 cores (docs/benchmarks.md "First frame"): it waits for the
// first frame, or 10 s when none comes (the WebSocket transport, a guest page, no stream).
if ('serviceWorker' in navigator && window.isSecureContext) {
  afterMilestone(FIRST_FRAME, 10000, () => {
    navigator.serviceWorker.register('sw.js').catch((e: unknown) => console.warn('service worker not registered', e));
  });
}
