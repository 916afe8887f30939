//! Entry point: starts the client (app.ts), or the guest page (guest.ts) when the URL carries a
//! share link, and registers the service worker (sw.js, written by the build with the build hash
//! so an upgrade never leaves a stale client cached).

import { App } from './app.ts';
import { startEarly } from './early.ts';
import { afterMilestone, FIRST_FRAME, milestone } from './milestones.ts';
import { GuestApp } from './guest.ts';
import { shareToken } from './sharing.ts';

milestone('script start');
// The page's controls, status and spinner are laid out once the first frame is shown, or after
// STARTING_MS when it is slow to come: their first layout held a fresh page's main thread
// ~35 ms, ahead of the host's offer (docs/benchmarks.md, "First frame: the page's first script").
const STARTING_MS = 400;
afterMilestone(FIRST_FRAME, STARTING_MS, () => document.body.classList.remove('starting'));
const token = shareToken(window.location.search);
if (token) new GuestApp(token).start();
else {
  // The connection's first requests, socket and peer (early.ts): boot.js started them from the
  // page's head already, unless it did not load.
  startEarly();
  const app = new App();
  milestone('app built');
  app.start();
  // The drawer is laid out after the first frame is shown (drawer.ts), once the page is idle:
  // in the first frame's own task its layout held that frame's paint back 50–175 ms.
  afterMilestone(FIRST_FRAME, 10000, () => {
    if ('requestIdleCallback' in window) requestIdleCallback(() => app.revealUi(), { timeout: 1000 });
    else setTimeout(() => app.revealUi(), 300);
  });
}

// The worker's registration and install (it fetches every app file again) cost a fresh page
// ~150 ms of its first frame on 2 cores (docs/benchmarks.md "First frame"): it waits for the
// first frame, or 10 s when none comes (the WebSocket transport, a guest page, no stream).
if ('serviceWorker' in navigator && window.isSecureContext) {
  afterMilestone(FIRST_FRAME, 10000, () => {
    navigator.serviceWorker.register('sw.js').catch((e: unknown) => console.warn('service worker not registered', e));
  });
}
