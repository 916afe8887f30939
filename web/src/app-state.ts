//! The client's settings state, apart from the view: what the user chose (saved per app), what
//! the host announced on the current data channel (`system` messages), and the reconciliation
//! of the two (the first announcement of a setting on a channel is checked against the saved
//! preference; later ones are news from another tab or the host). Pure: every change returns
//! the effects for the view to carry out (messages to send, drawer values, log lines), so the
//! rules are unit-tested without a DOM (test/app-state.test.ts).

import { encoderLabel } from './gauges.ts';
import * as msg from './messages.ts';
import { parseHostBool, reconcile, scaleLocalDefault, type NumberKey, type SettingsStore } from './settings.ts';

/** The drawer values a change sets. */
export interface DrawerValues {
  videoBitrate?: number;
  framerate?: number;
  audioBitrate?: number;
  resizeRemote?: boolean;
  scaleLocal?: boolean;
}

/** What the view does after a change. */
export interface Effects {
  /** Data-channel messages, in order. */
  send: string[];
  drawer: DrawerValues;
  log: string[];
  /** Log lines for the debug level only. */
  debug: string[];
  /** Send the window's size and scale (`r,`/`s,`), as after a window resize. */
  sendResize: boolean;
  /** Reconnect (the host asked for a reload). */
  restart: boolean;
}

const none = (): Effects => ({ send: [], drawer: {}, log: [], debug: [], sendResize: false, restart: false });

export class AppState {
  videoKbps: number | null;
  resizeRemote: boolean;
  scaleLocal: boolean;
  /** The host's capture rate (the announced framerate), for the glass-to-glass estimate. */
  captureFps: number | null = null;
  encoder = '';
  resolution = '';
  /** `system` settings already announced on this channel. */
  private readonly announced = new Set<string>();

  constructor(private readonly store: Pick<SettingsStore, 'number' | 'bool'>) {
    this.videoKbps = store.number('videoBitRate');
    this.resizeRemote = store.bool('resizeRemote') ?? true;
    this.scaleLocal = scaleLocalDefault(store.bool('scaleLocal'), this.resizeRemote);
  }

  /** A new data channel: the host knows nothing of this page, every setting is first again. */
  channelOpened(): void {
    this.announced.clear();
  }

  /**
   * A `system` announcement; `windowSize` is the size a resize switch would report. Returns
   * what the view must do.
   */
  hostAnnounced(name: string, value: string, windowSize: { w: number; h: number }): Effects {
    const first = !this.announced.has(name);
    this.announced.add(name);
    const fx = none();
    const n = Number(value);
    switch (name) {
      case 'video_bitrate':
        if (n > 0) this.number('videoBitRate', n, first, msg.videoBitrate, fx);
        break;
      case 'framerate':
        if (n > 0) this.number('videoFramerate', n, first, msg.framerate, fx);
        break;
      case 'audio_bitrate':
        if (n > 0) this.number('audioBitRate', n, first, msg.audioBitrate, fx);
        break;
      case 'resize': {
        const host = parseHostBool(value);
        if (host === null) break;
        const r = first ? reconcile(this.store.bool('resizeRemote'), host) : { value: host, send: false };
        this.resizeRemote = r.value;
        fx.drawer.resizeRemote = r.value;
        if (r.send) fx.send.push(msg.resizeSwitch(r.value, windowSize.w, windowSize.h));
        else if (first && r.value) fx.sendResize = true;
        this.scaleLocal = scaleLocalDefault(this.store.bool('scaleLocal'), r.value);
        fx.drawer.scaleLocal = this.scaleLocal;
        break;
      }
      case 'local_scaling': {
        const v = parseHostBool(value);
        if (v !== null && this.store.bool('scaleLocal') === null) {
          this.scaleLocal = v;
          fx.drawer.scaleLocal = v;
        }
        break;
      }
      case 'resolution':
        this.resolution = value;
        fx.log.push(`remote resolution ${value}`);
        break;
      case 'encoder':
        this.encoder = value;
        fx.log.push(`video encoder: ${encoderLabel(value)}`);
        break;
      case 'reload':
        fx.log.push('host asked for a reload: reconnecting');
        fx.restart = true;
        break;
      default:
        fx.debug.push(`unknown system action ${name}`);
    }
    return fx;
  }

  private number(key: NumberKey, host: number, first: boolean, format: (v: number) => string, fx: Effects): void {
    const r = first ? reconcile(this.store.number(key), host) : { value: host, send: false };
    if (key === 'videoBitRate') {
      this.videoKbps = r.value;
      fx.drawer.videoBitrate = r.value;
    } else if (key === 'videoFramerate') {
      this.captureFps = r.value;
      fx.drawer.framerate = r.value;
    } else {
      fx.drawer.audioBitrate = r.value;
    }
    if (r.send) {
      fx.send.push(format(r.value));
      fx.log.push(`${key}: applying the saved ${r.value} (host had ${host})`);
    }
  }
}
