//! The client's orchestration: owns the settings, the session and every input source, applies the
//! host's `system` announcements (reconciled with the saved preferences), and routes each stats
//! sample to the status line, the overlay and the drawer. DOM binding only; every rule it applies
//! lives in a pure module (settings, gauges, overlay, clipboard, gamepad, touch, messages).

import { ClipboardImages } from './clipboard-image.ts';
import { ClipboardSync } from './clipboard-sync.ts';
import { toRemote } from './coords.ts';
import { Drawer, type DrawerEvents } from './drawer.ts';
import { installE2eHooks, type E2eHooks } from './e2e.ts';
import { toggleFullscreen } from './fullscreen.ts';
import { FilesPanel } from './files.ts';
import { GamepadPoller } from './gamepad-poll.ts';
import { encoderLabel, gauges, parseGpuStats, parseSystemStats, type GpuStats, type SystemStats } from './gauges.ts';
import { InputCapture, type CaptureDocument } from './input.ts';
import { LogBuffer } from './logs.ts';
import * as msg from './messages.ts';
import { Microphone } from './mic.ts';
import { afterMilestone } from './milestones.ts';
import { overlayText, statusRows, type Context } from './overlay.ts';
import type { StatsSample } from './session.ts';
import { stageSampling } from './stages.ts';
import { TransportSwitch } from './transport.ts';
import { SharingDrawer } from './sharing-drawer.ts';
import { AppState } from './app-state.ts';
import { SettingsStore, type NumberKey } from './settings.ts';
import { appName } from './signalling.ts';
import { parseVideoStages, statsLine } from './stats.ts';
import { isTouchDevice, OnScreenKeyboard, TouchInput } from './touch-input.ts';
import { bindWebcamDrawer, webcam } from './webcam.ts';

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`index.html lacks #${id}`);
  return e as T;
}

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** The window's and the page body's size in CSS pixels, and the device pixel ratio. */
export interface ViewSize {
  bodyWidth: number;
  bodyHeight: number;
  innerWidth: number;
  innerHeight: number;
  dpr: number;
}

/** The page around the app and the parts that need a real DOM (fakes in unit tests). */
export interface AppParts {
  /** The page's element with this id (index.html). */
  el<T extends HTMLElement>(id: string): T;
  setTitle(title: string): void;
  pathname: string;
  storage: Storage | null;
  /** Where keys, button releases and focus changes arrive. */
  win: EventTarget;
  doc: CaptureDocument;
  view(): ViewSize;
  isTouch(): boolean;
  /** The test hooks (and the camera's drawer binding); null unless the page has `?e2e=1`. */
  instrument(video: HTMLVideoElement, send: (text: string) => boolean): E2eHooks | null;
  drawer(events: DrawerEvents, logs: LogBuffer): Drawer;
  transport(...args: ConstructorParameters<typeof TransportSwitch>): TransportSwitch;
}

export function browserParts(): AppParts {
  return {
    el,
    setTitle: (title) => {
      document.title = title;
    },
    pathname: window.location.pathname,
    storage: storage(),
    win: window,
    doc: document,
    view: () => ({
      bodyWidth: document.body.offsetWidth,
      bodyHeight: document.body.offsetHeight,
      innerWidth: window.innerWidth,
      innerHeight: window.innerHeight,
      dpr: window.devicePixelRatio || 1,
    }),
    isTouch: isTouchDevice,
    instrument: (video, send) => {
      const hooks = installE2eHooks(window, video, send);
      bindWebcamDrawer(document, webcam);
      // Test pages (?e2e=1) drive the camera directly (ci/e2e/webcam.test.mjs).
      if (hooks) Object.assign(window, { __webcam: webcam });
      return hooks;
    },
    drawer: (events, logs) => new Drawer(events, logs),
    transport: (...args) => new TransportSwitch(...args),
  };
}

/**
 * Longest the controls wait for the video's answer before they attach anyway (the WebSocket
 * transport has no answer): below the audio connection's own wait for the first frame
 * (session.ts), which reads the microphone.
 */
const ATTACH_AFTER_MS = 500;

export class App {
  private readonly video: HTMLVideoElement;
  private readonly overlayEl: HTMLPreElement;
  private readonly statsEl: HTMLDivElement;
  private readonly app: string;
  private readonly store: SettingsStore;
  private readonly logs: LogBuffer;
  /** Test instrumentation: null unless the page was opened with `?e2e=1`. */
  private readonly hooks: E2eHooks | null;
  private readonly session: TransportSwitch;
  private readonly input: InputCapture;
  private readonly drawer: Drawer;
  private readonly clipboard: ClipboardSync;
  private readonly clipboardImages: ClipboardImages;
  private files: FilesPanel | null = null;
  private readonly gamepads: GamepadPoller;
  private osk: OnScreenKeyboard | null = null;
  private touch: TouchInput | null = null;

  /** Settings chosen here and announced by the host, and their reconciliation (pure). */
  private readonly state: AppState;
  private statsOverlay: boolean;
  private system: SystemStats | null = null;
  private gpu: GpuStats | null = null;
  private last: StatsSample | null = null;

  constructor(private readonly parts: AppParts = browserParts()) {
    this.video = parts.el<HTMLVideoElement>('video');
    this.overlayEl = parts.el<HTMLPreElement>('stats-overlay');
    this.statsEl = parts.el<HTMLDivElement>('stats');
    this.app = appName(parts.pathname);
    this.store = new SettingsStore(parts.storage, this.app);
    this.logs = new LogBuffer(500, this.store.bool('debug') ?? false);
    this.state = new AppState(this.store);
    this.statsOverlay = this.store.bool('statsOverlay') ?? false;
    this.parts.setTitle(`Selkies - ${this.app}`);
    const send = (text: string): boolean => this.session?.send(text) ?? false;
    this.hooks = this.parts.instrument(this.video, send);
    this.drawer = this.parts.drawer(
      {
        videoBitrate: (kbps) => this.choose('videoBitRate', kbps, msg.videoBitrate(kbps)),
        framerate: (fps) => this.choose('videoFramerate', fps, msg.framerate(fps)),
        audioBitrate: (bps) => this.choose('audioBitRate', bps, msg.audioBitrate(bps)),
        resizeRemote: (on) => {
          this.state.resizeRemote = on;
          this.store.setBool('resizeRemote', on);
          const { w, h } = this.windowSize();
          send(msg.resizeSwitch(on, w, h));
          this.logs.add('status', `remote resize ${on ? 'on' : 'off'}`);
        },
        scaleLocal: (on) => {
          this.store.setBool('scaleLocal', on);
          this.setScaleLocal(on);
        },
        statsOverlay: (on) => this.setOverlay(on),
        debug: (on) => {
          this.store.setBool('debug', on);
          this.logs.debug = on;
        },
        fullscreen: () => void toggleFullscreen(this.video, (t) => this.logs.add('status', t)),
        enableClipboard: () => void this.clipboard.enable(),
        visibility: (open) => {
          // Legacy detaches input while the menu is open; the host releases what was held.
          this.input.keyboard = !open;
          send(msg.KEY_RESET);
          stageSampling.enabled = open || this.statsOverlay;
          if (open) this.renderDrawer();
          // Listed when the drawer opens: a host without file transfer answers 404, which a
          // page load should not log.
          if (open) void this.files?.refresh();
        },
      },
      this.logs,
    );
    this.drawer.setVideoBitrate(this.state.videoKbps);
    this.drawer.setFramerate(this.store.number('videoFramerate'));
    this.drawer.setAudioBitrate(this.store.number('audioBitRate'));
    this.drawer.setSwitches({
      resizeRemote: this.state.resizeRemote,
      scaleLocal: this.state.scaleLocal,
      statsOverlay: this.statsOverlay,
      debug: this.logs.debug,
    });

    this.session = this.parts.transport({
      videoEl: this.video,
      audioEl: this.parts.el<HTMLAudioElement>('audio'),
      ui: {
        status: (text) => {
          this.parts.el('status').textContent = text;
          this.logs.add('status', text);
        },
        stats: (s) => this.onStats(s),
        channelOpen: () => this.onChannelOpen(),
        needsClick: (resume) => {
          const start = this.parts.el<HTMLButtonElement>('start');
          start.hidden = false;
          start.onclick = () => {
            start.hidden = true;
            resume();
          };
        },
        connected: (yes) => {
          this.parts.el('overlay').classList.toggle('hidden', yes);
          this.parts.el('info').classList.toggle('live', yes);
        },
      },
      hooks: this.hooks,
      onHostMessage: (m) => this.onHostMessage(m),
    });

    this.input = new InputCapture(this.video, (t) => void send(t), {
      shortcut: (e) => this.shortcut(e),
      ignore: (target) => this.osk?.owns(target) ?? false,
    }, this.parts.win, this.parts.doc);
    this.clipboard = new ClipboardSync({
      send,
      status: (on, detail) => this.drawer.setClipboardStatus(on, detail),
      log: (t) => this.logs.add('status', t),
      received: (text) => {
        if (this.hooks) this.hooks.clipboardText = text;
      },
    });
    this.clipboardImages = new ClipboardImages(send, (t) => this.logs.add('status', t));
    this.gamepads = new GamepadPoller(
      (t) => void send(t),
      (pads) => {
        this.drawer.setGamepads(pads);
        this.logs.add('status', pads.length ? `gamepads: ${pads.map((p) => `${p.index}: ${p.id}`).join(', ')}` : 'no gamepad');
      },
    );
  }

  start(): void {
    this.setOverlay(this.statsOverlay);
    this.setScaleLocal(this.state.scaleLocal);
    this.video.addEventListener('resize', () => this.layoutVideo());

    // After the window settles, size the remote desktop to it (legacy: 500 ms debounce).
    let timer: ReturnType<typeof setTimeout> | null = null;
    window.addEventListener('resize', () => {
      this.layoutVideo();
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        if (this.state.resizeRemote) this.sendResize();
      }, 500);
    });
    // The microphone's state is read by the session's audio connection (its HELLO and answer);
    // only its switches wait with the rest below.
    const mic = new Microphone((reason) => this.session.restart(reason), (t) => this.logs.add('status', t));
    this.session.microphone = mic;
    void this.session.start();
    // Input, sharing, touch, gamepads, microphone, files and clipboard wait until the video's
    // answer is sent (or ATTACH_AFTER_MS): nothing of theirs is of use before a frame is shown,
    // and attaching them held the page's main thread ~25 ms between app.js and the handling of
    // the host's offer (docs/benchmarks.md, "First frame: the page's first script").
    afterMilestone('video answer sent', ATTACH_AFTER_MS, () => this.attachControls(mic));
  }

  private attachControls(mic: Microphone): void {
    this.input.attach();
    new SharingDrawer().start();
    const map = (x: number, y: number) =>
      toRemote(x, y, this.video.getBoundingClientRect(), { width: this.video.videoWidth, height: this.video.videoHeight });
    this.touch = new TouchInput(this.video, (t) => void this.session.send(t), map);
    this.touch.attach();
    if (isTouchDevice()) {
      this.osk = new OnScreenKeyboard(el('osk-button'), el('osk-input'), (t) => void this.session.send(t));
      this.osk.attach();
    }
    this.gamepads.attach();
    const log = (t: string): void => this.logs.add('status', t);
    mic.attach();
    this.files = new FilesPanel(log);
    this.files.attach();
    void this.clipboard.attach();
    this.clipboardImages.attach();
  }

  /** The UI the first frame does without: the drawer's layout (after the first frame, main.ts). */
  revealUi(): void {
    this.drawer.reveal();
  }

  private windowSize(): { w: number; h: number; dpr: number } {
    const { bodyWidth, bodyHeight, dpr } = this.parts.view();
    return {
      w: Math.trunc(bodyWidth * dpr) & ~1,
      h: Math.trunc(bodyHeight * dpr) & ~1,
      dpr,
    };
  }

  private sendResize(): void {
    const { w, h, dpr } = this.windowSize();
    this.session.send(msg.resize(w, h));
    this.session.send(msg.scale(dpr));
  }

  private shortcut(e: KeyboardEvent): boolean {
    if (!e.ctrlKey || !e.shiftKey || e.altKey || e.metaKey) return false;
    switch (e.code) {
      case 'KeyM':
        this.drawer.toggle();
        return true;
      case 'KeyF':
        void toggleFullscreen(this.video, (t) => this.logs.add('status', t));
        return true;
      case 'KeyS':
        this.setOverlay(!this.statsOverlay);
        this.drawer.setSwitches({ statsOverlay: this.statsOverlay });
        return true;
      default:
        return false;
    }
  }

  /** A drawer select changed: remember it for this app and tell the host. */
  private choose(key: NumberKey, value: number, message: string): void {
    if (!Number.isFinite(value) || value <= 0) return;
    this.store.setNumber(key, value);
    if (key === 'videoBitRate') this.state.videoKbps = value;
    this.session.send(message);
    this.logs.add('status', `${key} set to ${value}`);
  }

  private setOverlay(on: boolean): void {
    this.statsOverlay = on;
    stageSampling.enabled = on || this.drawer.isOpen;
    this.store.setBool('statsOverlay', on);
    this.overlayEl.hidden = !on;
    if (on && this.last) this.overlayEl.textContent = overlayText(this.last, this.context());
  }

  private setScaleLocal(on: boolean): void {
    this.state.scaleLocal = on;
    this.layoutVideo();
  }

  /** Scale to fit: the frame letterboxed in the window; otherwise one frame pixel per device pixel. */
  private layoutVideo(): void {
    const v = this.video;
    v.classList.toggle('scale', this.state.scaleLocal);
    v.classList.toggle('native', !this.state.scaleLocal);
    if (this.state.scaleLocal || v.videoWidth === 0) {
      v.style.removeProperty('width');
      v.style.removeProperty('height');
      v.style.removeProperty('left');
      v.style.removeProperty('top');
      return;
    }
    const { dpr, innerWidth, innerHeight } = this.parts.view();
    const w = v.videoWidth / dpr;
    const h = v.videoHeight / dpr;
    v.style.width = `${w}px`;
    v.style.height = `${h}px`;
    v.style.left = `${Math.max(0, (innerWidth - w) / 2)}px`;
    v.style.top = `${Math.max(0, (innerHeight - h) / 2)}px`;
  }

  private context(): Context {
    const { dpr, innerWidth, innerHeight } = this.parts.view();
    return {
      encoder: this.state.encoder ? encoderLabel(this.state.encoder) : '',
      resolution: this.state.resolution,
      windowSize: `${innerWidth}x${innerHeight}${dpr !== 1 ? ` @${dpr}x` : ''}`,
    };
  }

  private onChannelOpen(): void {
    this.state.channelOpened();
    this.gamepads.reset();
    this.clipboard.channelOpened();
    this.clipboardImages.channelOpened();
    // A new host session: what the last one measured is not this one's, and it sends its
    // stage times only when asked.
    this.session.hostStages = null;
    this.session.send(msg.videoStages(true));
    // Touch has no local cursor: the host draws its own into the video (legacy forces p,1).
    if (this.parts.isTouch()) this.session.send(msg.pointerVisible(true));
  }

  private onStats(s: StatsSample): void {
    this.last = s;
    const v = s.video.video;
    const line = statsLine(s.videoRates, s.latencyMs, v?.frameWidth ?? 0, v?.frameHeight ?? 0, v?.codec ?? '');
    this.statsEl.textContent = this.state.encoder ? `${line} · ${this.state.encoder}` : line;
    if (this.statsOverlay) this.overlayEl.textContent = overlayText(s, this.context());
    this.renderDrawer();
  }

  private renderDrawer(): void {
    if (!this.drawer.isOpen) return;
    const s = this.last;
    this.drawer.renderGauges(
      gauges({
        kbps: s?.videoRates.kbps ?? 0,
        selectedKbps: this.state.videoKbps ?? 0,
        fps: s?.videoRates.fps ?? 0,
        latencyMs: s?.latencyMs ?? 0,
        encoder: this.state.encoder,
        system: this.system,
        gpu: this.gpu,
      }),
    );
    this.drawer.renderStatus(statusRows(s, this.context()));
  }

  private onHostMessage(m: msg.HostMessage): void {
    switch (m.type) {
      case 'system':
        this.onSystem(msg.systemAction(m.data));
        break;
      case 'cursor':
        this.video.style.cursor = msg.cursorCss(m.data);
        break;
      case 'clipboard':
      case 'clipboard_part':
        this.clipboard.hostMessage(m.type, m.data);
        break;
      case 'clipboard_image':
        this.clipboardImages.hostMessage(m.data);
        break;
      case 'system_stats':
        this.system = parseSystemStats(m.data) ?? this.system;
        break;
      case 'gpu_stats':
        this.gpu = parseGpuStats(m.data) ?? this.gpu;
        break;
      case 'video_stages':
        // Stamped here: the estimate ignores stages that stopped coming (stats.ts).
        this.session.hostStages = parseVideoStages(m.data, performance.now()) ?? this.session.hostStages;
        break;
      case 'latency_measurement': {
        const l = (m.data as { latency_ms?: unknown } | null)?.latency_ms;
        if (typeof l === 'number' && Number.isFinite(l)) this.session.serverLatencyMs = l * 2;
        break;
      }
      case 'pipeline': {
        const st = (m.data as { status?: unknown } | null)?.status;
        if (typeof st === 'string') this.logs.add('status', `host: ${st}`);
        break;
      }
      case 'ping':
        break;
      default:
        this.logs.add('debug', `unknown host message type ${m.type}`);
    }
  }

  /** A `system` announcement: the state decides, the view carries the effects out. */
  private onSystem(a: { name: string; value: string } | null): void {
    if (!a) return;
    const { w, h } = this.windowSize();
    const fx = this.state.hostAnnounced(a.name, a.value, { w, h });
    const d = fx.drawer;
    if (d.videoBitrate !== undefined) this.drawer.setVideoBitrate(d.videoBitrate);
    if (d.framerate !== undefined) this.drawer.setFramerate(d.framerate);
    if (d.audioBitrate !== undefined) this.drawer.setAudioBitrate(d.audioBitrate);
    if (d.resizeRemote !== undefined) this.drawer.setSwitches({ resizeRemote: d.resizeRemote });
    if (this.state.captureFps !== null) this.session.captureFps = this.state.captureFps;
    for (const m of fx.send) this.session.send(m);
    if (fx.sendResize) this.sendResize();
    if (d.scaleLocal !== undefined) {
      this.drawer.setSwitches({ scaleLocal: d.scaleLocal });
      this.setScaleLocal(d.scaleLocal);
    }
    for (const line of fx.log) this.logs.add('status', line);
    for (const line of fx.debug) this.logs.add('debug', line);
    if (fx.restart) setTimeout(() => this.session.restart('host asked for a reload'), 700);
  }
}
