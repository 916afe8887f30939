//! The connection's first steps, taken before the app exists (docs/benchmarks.md, "First frame:
//! the page's first script"): `./transport` and `./turn` are requested, the video peer's
//! signalling socket is opened and greets the host as soon as it opens, and the video peer's
//! `RTCPeerConnection` is created (all kept in prefetch.ts for the session to take). The page's
//! first script, `boot.js`, runs this from the head of index.html while `app.js` downloads and
//! compiles; `main.ts` runs it again, which does nothing when boot.js already did (and
//! everything where boot.js did not load).
//!
//! Only what the first video connection needs belongs here: this module is the whole of
//! boot.js, which the page waits for before it goes on parsing.

import { milestone } from './milestones.ts';
import { firstStart, keep, prefetch, prefetchPeer, prefetchSocket } from './prefetch.ts';
import { shareToken } from './sharing.ts';
import { browserPage, pageHello, rtcConfig } from './session.ts';
import { advertisedTransport, chooseTransport } from './transport.ts';
import { clientToken, signallingUrl, VIDEO_PEER_ID } from './signalling.ts';

/** Starts the first connection's requests, once per page; a guest's page (a share link) has its own. */
export function startEarly(): void {
  if (!firstStart()) return;
  milestone('early start');
  if (shareToken(window.location.search)) return;
  // Unless the URL forces the WebSocket transport (one the host advertises instead is dropped
  // once known: transport.ts), the video peer's socket sends its HELLO as soon as it opens, so
  // the host builds its pipeline and offer while the page is still loading; the session takes
  // the socket and the offer kept with it (signalling.ts). The socket comes first: its
  // handshake runs while the rest of this (each step a round trip to the browser in a fresh
  // one) is done, and its `open` can then be handled before app.js runs.
  if (chooseTransport(window.location.search, null) !== 'websocket') {
    let own = '';
    prefetchSocket(signallingUrl(window.location), () => {
      milestone('video WebSocket open, HELLO sent');
      // Measured when the socket opens, as the session's own HELLO is.
      return pageHello(VIDEO_PEER_ID, browserPage(), own);
    });
    // Set before `open` can be handled: that is a later task.
    own = clientToken(browserPage().storage);
    keep('token', own);
    prefetchPeer();
  }
  prefetch('transport', advertisedTransport);
  prefetch('turn', rtcConfig);
}
