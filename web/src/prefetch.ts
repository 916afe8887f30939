//! Requests the page needs before it can connect (`./transport`, `./turn`), started the moment
//! the script runs instead of one after the other once the app is built: they then overlap the
//! app's set-up and each other, which takes them off the way to the first frame
//! (docs/benchmarks.md, "First frame"). Each prefetched answer is used once, by the first
//! connection; reconnections fetch afresh (TURN credentials expire).

const early = new Map<string, Promise<unknown>>();

/** Starts `load` now and keeps its promise for the first [`takeOr`] with the same key. */
export function prefetch<T>(key: string, load: () => Promise<T>): void {
  early.set(key, load());
}

/** The prefetched promise for `key` (once), else a fresh `load()`. */
export function takeOr<T>(key: string, load: () => Promise<T>): Promise<T> {
  const p = early.get(key) as Promise<T> | undefined;
  early.delete(key);
  return p ?? load();
}
