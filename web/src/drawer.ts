//! The side drawer (docs/web-client.md "What the client does"): gauges, toolbar icons, the three selects, the
//! switches, the status list and the log panel. It only renders and reports user choices through
//! `DrawerEvents`; what a choice does to the session is app.ts's business. The drawer's markup
//! stays `display: none` (class `later`) until `reveal`, which the app calls when the page is
//! idle after the first video frame, or opening it does: its selects, switches and text areas
//! then stay out of the page's first style and layout (docs/benchmarks.md "First frame: the
//! page's own start").

import type { Gauge } from './gauges.ts';
import type { LogBuffer } from './logs.ts';
import {
  AUDIO_BITRATES_BPS,
  audioBitrateLabel,
  FRAMERATES,
  framerateLabel,
  optionsWith,
  VIDEO_BITRATES_KBPS,
  videoBitrateLabel,
} from './options.ts';

export interface DrawerEvents {
  videoBitrate(kbps: number): void;
  framerate(fps: number): void;
  audioBitrate(bps: number): void;
  resizeRemote(on: boolean): void;
  scaleLocal(on: boolean): void;
  statsOverlay(on: boolean): void;
  debug(on: boolean): void;
  fullscreen(): void;
  enableClipboard(): void;
  /** The drawer opened (true) or closed: input capture detaches while it is open. */
  visibility(open: boolean): void;
}

function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`index.html lacks #${id}`);
  return e as T;
}

export class Drawer {
  private readonly root = byId<HTMLElement>('drawer');
  private readonly selVideo = byId<HTMLSelectElement>('sel-video-bitrate');
  private readonly selFps = byId<HTMLSelectElement>('sel-framerate');
  private readonly selAudio = byId<HTMLSelectElement>('sel-audio-bitrate');
  private readonly swResize = byId<HTMLInputElement>('sw-resize');
  private readonly swScale = byId<HTMLInputElement>('sw-scale');
  private readonly swOverlay = byId<HTMLInputElement>('sw-overlay');
  private readonly swDebug = byId<HTMLInputElement>('sw-debug');
  private readonly gaugesEl = byId<HTMLDivElement>('gauges');
  private readonly statusList = byId<HTMLDListElement>('status-list');
  private readonly logStatus = byId<HTMLTextAreaElement>('log-status');
  private readonly logDebug = byId<HTMLTextAreaElement>('log-debug');
  private readonly btnClipboard = byId<HTMLButtonElement>('btn-clipboard');
  private readonly iconGamepad = byId<HTMLSpanElement>('icon-gamepad');

  constructor(
    private readonly events: DrawerEvents,
    private readonly logs: LogBuffer,
  ) {
    const num = (s: HTMLSelectElement): number => Number(s.value);
    this.selVideo.addEventListener('change', () => events.videoBitrate(num(this.selVideo)));
    this.selFps.addEventListener('change', () => events.framerate(num(this.selFps)));
    this.selAudio.addEventListener('change', () => events.audioBitrate(num(this.selAudio)));
    this.swResize.addEventListener('change', () => events.resizeRemote(this.swResize.checked));
    this.swScale.addEventListener('change', () => events.scaleLocal(this.swScale.checked));
    this.swOverlay.addEventListener('change', () => events.statsOverlay(this.swOverlay.checked));
    this.swDebug.addEventListener('change', () => {
      this.logDebug.hidden = !this.swDebug.checked;
      events.debug(this.swDebug.checked);
    });
    byId('menu-button').addEventListener('click', () => this.toggle());
    byId('btn-close').addEventListener('click', () => this.setOpen(false));
    byId('btn-fullscreen').addEventListener('click', () => events.fullscreen());
    this.btnClipboard.addEventListener('click', () => events.enableClipboard());
    logs.onChange(() => {
      if (this.isOpen) this.renderLogs();
    });
    this.setVideoBitrate(null);
    this.setFramerate(null);
    this.setAudioBitrate(null);
  }

  get isOpen(): boolean {
    return this.root.classList.contains('open');
  }

  toggle(): void {
    this.setOpen(!this.isOpen);
  }

  /** Lays the (closed) drawer out from now on; opening it reveals it first. */
  reveal(): void {
    if (!this.root.classList.contains('later')) return;
    this.root.classList.remove('later');
  }

  setOpen(open: boolean): void {
    if (open === this.isOpen) return;
    if (open && this.root.classList.contains('later')) {
      this.reveal();
      // Lay it out closed first, so that opening it slides it in as usual.
      void this.root.offsetWidth;
    }
    this.root.classList.toggle('open', open);
    this.root.setAttribute('aria-hidden', String(!open));
    if (open) this.renderLogs();
    this.events.visibility(open);
  }

  setVideoBitrate(kbps: number | null): void {
    fill(this.selVideo, optionsWith(VIDEO_BITRATES_KBPS, kbps, videoBitrateLabel), kbps);
  }

  setFramerate(fps: number | null): void {
    fill(this.selFps, optionsWith(FRAMERATES, fps, framerateLabel), fps);
  }

  setAudioBitrate(bps: number | null): void {
    fill(this.selAudio, optionsWith(AUDIO_BITRATES_BPS, bps, audioBitrateLabel), bps);
  }

  setSwitches(s: { resizeRemote?: boolean; scaleLocal?: boolean; statsOverlay?: boolean; debug?: boolean }): void {
    if (s.resizeRemote !== undefined) this.swResize.checked = s.resizeRemote;
    if (s.scaleLocal !== undefined) this.swScale.checked = s.scaleLocal;
    if (s.statsOverlay !== undefined) this.swOverlay.checked = s.statsOverlay;
    if (s.debug !== undefined) {
      this.swDebug.checked = s.debug;
      this.logDebug.hidden = !s.debug;
    }
  }

  setClipboardStatus(enabled: boolean, detail: string): void {
    this.btnClipboard.classList.toggle('on', enabled);
    this.btnClipboard.title = enabled ? `Clipboard status: enabled${detail ? ` (${detail})` : ''}` : `Enable clipboard access${detail ? ` (${detail})` : ''}`;
  }

  setGamepads(pads: Array<{ index: number; id: string }>): void {
    const on = pads.length > 0;
    this.iconGamepad.classList.toggle('off', !on);
    this.iconGamepad.classList.toggle('on', on);
    this.iconGamepad.title = on ? pads.map((p) => `Gamepad connected: ${p.id}`).join('\n') : 'Gamepad disconnected';
  }

  renderGauges(gauges: Gauge[]): void {
    if (!this.isOpen) return;
    if (this.gaugesEl.children.length !== gauges.length) {
      this.gaugesEl.replaceChildren(
        ...gauges.map(() => {
          const g = document.createElement('div');
          g.className = 'gauge';
          g.innerHTML = '<div class="ring"><span></span></div><small></small>';
          return g;
        }),
      );
    }
    gauges.forEach((gauge, i) => {
      const g = this.gaugesEl.children[i] as HTMLElement;
      g.title = gauge.title;
      const ring = g.firstElementChild as HTMLElement;
      ring.style.setProperty('--p', gauge.fraction.toFixed(3));
      if (gauge.label === 'Network') ring.style.setProperty('--c', 'var(--bad)');
      (ring.firstElementChild as HTMLElement).textContent = gauge.text;
      (g.lastElementChild as HTMLElement).textContent = gauge.label;
    });
  }

  /** The status list: label → value pairs, rendered only while the drawer is open. */
  renderStatus(rows: Array<[string, string]>): void {
    if (!this.isOpen) return;
    const els: HTMLElement[] = [];
    for (const [k, v] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      els.push(dt, dd);
    }
    this.statusList.replaceChildren(...els);
  }

  private renderLogs(): void {
    for (const [el, level] of [
      [this.logStatus, 'status'],
      [this.logDebug, 'debug'],
    ] as const) {
      const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
      el.value = this.logs.lines(level).join('\n');
      if (atEnd) el.scrollTop = el.scrollHeight;
    }
  }
}

function fill(sel: HTMLSelectElement, options: Array<{ value: number; label: string }>, current: number | null): void {
  sel.replaceChildren(
    ...options.map((o) => {
      const opt = document.createElement('option');
      opt.value = String(o.value);
      opt.textContent = o.label;
      return opt;
    }),
  );
  if (current !== null) sel.value = String(current);
  else sel.selectedIndex = -1;
}
