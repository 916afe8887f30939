//! Pure ring buffer behind the drawer's log panel: timestamped status and debug lines, bounded so
//! a long session cannot grow the page without limit.

export type LogLevel = 'status' | 'debug';

export interface LogEntry {
  at: number;
  level: LogLevel;
  text: string;
}

export class LogBuffer {
  private readonly entries: LogEntry[] = [];
  private listener: (() => void) | null = null;

  constructor(
    private readonly capacity = 500,
    /** Debug lines are kept only when the user turned debug logs on (legacy behaviour). */
    public debug = false,
  ) {}

  add(level: LogLevel, text: string, at = Date.now()): void {
    if (level === 'debug' && !this.debug) return;
    this.entries.push({ at, level, text });
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
    this.listener?.();
  }

  onChange(fn: () => void): void {
    this.listener = fn;
  }

  lines(level: LogLevel): string[] {
    return this.entries.filter((e) => e.level === level).map(formatEntry);
  }
}

/** `[HH:MM:SS.mmm] text` in UTC, so log excerpts from different machines line up. */
export function formatEntry(e: LogEntry): string {
  return `[${new Date(e.at).toISOString().slice(11, 23)}] ${e.text}`;
}
