//! Settings persisted per app in localStorage under the legacy client's keys
//! (`<appName>_videoBitRate`, …; docs/web-client.md "What the client does"), and the rule that reconciles a
//! saved preference with the value the host announces when the data channel opens.
//! Pure: the storage is injected, so the rules are unit-tested without a browser.

/** The subset of `Storage` used here (localStorage in the page, a Map in tests). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export type NumberKey = 'videoBitRate' | 'videoFramerate' | 'audioBitRate';
/** `statsOverlay` is ours; the rest are the legacy keys (the legacy `resize` misspelling is not read). */
export type BoolKey = 'resizeRemote' | 'scaleLocal' | 'debug' | 'turnSwitch' | 'statsOverlay';

export class SettingsStore {
  constructor(
    private readonly storage: StorageLike | null,
    private readonly app: string,
  ) {}

  private key(name: string): string {
    return `${this.app}_${name}`;
  }

  private read(name: string): string | null {
    try {
      return this.storage?.getItem(this.key(name)) ?? null;
    } catch {
      return null; // storage disabled (private mode, quota): behave as if nothing was saved
    }
  }

  private write(name: string, value: string | null): void {
    try {
      if (value === null) this.storage?.removeItem(this.key(name));
      else this.storage?.setItem(this.key(name), value);
    } catch {
      // Not persisting is acceptable; the setting still applies to this session.
    }
  }

  /** A saved positive integer, or null when absent or garbage. */
  number(name: NumberKey): number | null {
    const v = this.read(name);
    if (v === null || !/^\d+$/.test(v.trim())) return null;
    const n = Number(v);
    return n > 0 && Number.isSafeInteger(n) ? n : null;
  }

  setNumber(name: NumberKey, value: number): void {
    this.write(name, String(Math.trunc(value)));
  }

  /** A saved boolean, or null when absent or garbage. */
  bool(name: BoolKey): boolean | null {
    const v = this.read(name);
    return v === 'true' ? true : v === 'false' ? false : null;
  }

  setBool(name: BoolKey, value: boolean): void {
    this.write(name, value ? 'true' : 'false');
  }
}

export interface Reconciled<T> {
  /** The value the UI shows from now on. */
  value: T;
  /** True when the client must tell the host (the saved preference differs from the host's). */
  send: boolean;
}

/**
 * A host announcement (`system video_bitrate,…` on channel open) against the saved preference:
 * a saved value wins and is sent when it differs; otherwise the host's value is shown.
 * (Legacy also echoed the host's own value back when it differed from the UI default; pointless.)
 */
export function reconcile<T>(saved: T | null, host: T): Reconciled<T> {
  if (saved === null || saved === host) return { value: host, send: false };
  return { value: saved, send: true };
}

/** Local scaling defaults to the opposite of remote resize when the user never chose (legacy). */
export function scaleLocalDefault(saved: boolean | null, resizeRemote: boolean): boolean {
  return saved ?? !resizeRemote;
}

/** `True`/`False`/`true`/`false` (Python bool spelling from the host) → boolean, else null. */
export function parseHostBool(v: string): boolean | null {
  const s = v.trim().toLowerCase();
  return s === 'true' ? true : s === 'false' ? false : null;
}
