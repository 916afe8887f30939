// A glass-to-glass detector injected into any web client (ours, the legacy one, Selkies 2.x), so
// every case of ci/bench-side-by-side is measured the same way without the client's own test
// hooks: it watches every <video> of the page with requestVideoFrameCallback, samples one pixel
// of each displayed frame through an 8x8 canvas, and keeps the RTCPeerConnections the page makes
// so their inbound video statistics can be read. Installed with `page.addInitScript(PROBE)`
// before the client's own scripts run; read through `window.__sbs`.
//
// Coordinates are screen pixels of a SCREEN_W-wide screen, scaled to the video's own size (a
// client that scales the remote display still shows the same spot).

/** The script, as a function Playwright serialises into the page. */
function probe(screenW) {
  if (window.__sbs) return;
  const st = {
    firstFrameMs: null,
    frames: 0,
    waiters: [],
    pcs: [],
    videos: new Set(),
    withReceiveTime: 0,
  };
  // Keep every peer connection the page creates (a Proxy keeps instanceof and prototypes).
  if (window.RTCPeerConnection) {
    window.RTCPeerConnection = new Proxy(window.RTCPeerConnection, {
      construct(target, args, newTarget) {
        const pc = Reflect.construct(target, args, newTarget);
        st.pcs.push(pc);
        return pc;
      },
    });
  }
  let ctx = null;
  const sample = (v, x, y) => {
    if (!ctx) {
      const c = document.createElement('canvas');
      c.width = 8;
      c.height = 8;
      ctx = c.getContext('2d', { willReadFrequently: true });
    }
    const k = v.videoWidth / screenW;
    ctx.drawImage(v, Math.round(x * k), Math.round(y * k), 8, 8, 0, 0, 8, 8);
    return ctx.getImageData(4, 4, 1, 1).data;
  };
  const onFrame = (v) => (now, meta) => {
    st.frames++;
    if (st.firstFrameMs === null) st.firstFrameMs = performance.now();
    if (meta.receiveTime) st.withReceiveTime++;
    if (st.waiters.length && v.videoWidth > 0) {
      const detectedAt = Date.now();
      for (const w of [...st.waiters]) {
        const px = sample(v, w.x, w.y);
        if ([0, 1, 2].every((i) => Math.abs(px[i] - w.rgb[i]) <= w.tol)) {
          st.waiters.splice(st.waiters.indexOf(w), 1);
          clearTimeout(w.timer);
          const wall = (t) => (typeof t === 'number' ? performance.timeOrigin + t : null);
          w.resolve({
            detectedAt,
            expectedDisplayAt: wall(meta.expectedDisplayTime),
            receivedAt: wall(meta.receiveTime),
          });
        }
      }
    }
    v.requestVideoFrameCallback(onFrame(v));
  };
  const scan = () => {
    for (const v of document.querySelectorAll('video')) {
      if (st.videos.has(v) || !v.requestVideoFrameCallback) continue;
      st.videos.add(v);
      v.requestVideoFrameCallback(onFrame(v));
    }
  };
  setInterval(scan, 200);
  document.addEventListener('DOMContentLoaded', scan);

  window.__sbs = {
    state: st,
    /** Resolves with the first displayed frame whose pixel (x, y) is `rgb` ±tol, or null. */
    waitForColour(x, y, rgb, tol, timeoutMs) {
      return new Promise((resolve) => {
        const w = { x, y, rgb, tol, resolve };
        w.timer = setTimeout(() => {
          st.waiters.splice(st.waiters.indexOf(w), 1);
          resolve(null);
        }, timeoutMs);
        st.waiters.push(w);
      });
    },
    /** Summed inbound video statistics of the page's open peer connections (null: none). */
    async videoStats() {
      let out = null;
      for (const pc of st.pcs) {
        if (pc.connectionState === 'closed') continue;
        const report = await pc.getStats();
        report.forEach((s) => {
          if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
          out = out ?? { timestamp: s.timestamp, pliCount: 0, keyFramesDecoded: 0, jitterBufferDelay: 0, jitterBufferEmittedCount: 0, bytesReceived: 0, framesDecoded: 0 };
          for (const k of Object.keys(out)) if (k !== 'timestamp') out[k] += s[k] ?? 0;
        });
      }
      return out;
    },
  };
}

/** Script text for `page.addInitScript` for a screen `screenW` pixels wide. */
export const probeScript = (screenW) => `(${probe.toString()})(${screenW});`;
