//! Entry point: finds the page's elements, wires the session, the input capture, the host
//! messages that change the page (cursor, resolution, encoder) and the status/stats UI.

import { installE2eHooks } from './e2e.ts';
import { InputCapture } from './input.ts';
import { cursorCss, type HostMessage, resize, scale, systemAction } from './messages.ts';
import { Session } from './session.ts';
import { appName } from './signalling.ts';

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`index.html lacks #${id}`);
  return e as T;
}

function main(): void {
  const video = el<HTMLVideoElement>('video');
  const audio = el<HTMLAudioElement>('audio');
  const status = el<HTMLDivElement>('status');
  const stats = el<HTMLDivElement>('stats');
  const overlay = el<HTMLDivElement>('overlay');
  const start = el<HTMLButtonElement>('start');
  const info = el<HTMLDivElement>('info');
  document.title = `Selkies - ${appName(window.location.pathname)}`;

  let session: Session | null = null;
  const send = (text: string): boolean => session?.send(text) ?? false;
  const hooks = installE2eHooks(video, send);
  let encoder = '';

  const onHostMessage = (m: HostMessage): void => {
    if (m.type === 'cursor') {
      video.style.cursor = cursorCss(m.data);
    } else if (m.type === 'system') {
      const a = systemAction(m.data);
      if (a?.name === 'encoder') encoder = a.value;
    } else if (m.type === 'latency_measurement' || m.type === 'system_stats' || m.type === 'ping') {
      // Shown through getStats-derived numbers; the host values are kept by the e2e hooks only.
    } else if (!['pipeline', 'gpu_stats', 'clipboard'].includes(m.type)) {
      console.warn('unknown host message type', m.type);
    }
  };

  session = new Session(
    video,
    audio,
    {
      status: (text) => {
        status.textContent = text;
      },
      stats: (text) => {
        stats.textContent = encoder ? `${text} · ${encoder}` : text;
      },
      needsClick: (resume) => {
        start.hidden = false;
        start.onclick = () => {
          start.hidden = true;
          resume();
        };
      },
      connected: (yes) => {
        overlay.classList.toggle('hidden', yes);
        info.classList.toggle('live', yes);
      },
    },
    hooks,
    onHostMessage,
  );

  const input = new InputCapture(video, (text) => void send(text));
  input.attach();

  // After the window settles, offer the host our size (acted on only with --enable_resize).
  let resizeTimer: ReturnType<typeof setTimeout> | null = null;
  window.addEventListener('resize', () => {
    if (resizeTimer) clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      const dpr = window.devicePixelRatio;
      const w = Math.trunc(document.body.offsetWidth * dpr) & ~1;
      const h = Math.trunc(document.body.offsetHeight * dpr) & ~1;
      send(resize(w, h));
      send(scale(dpr));
    }, 500);
  });

  void session.start();
}

main();
