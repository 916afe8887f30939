//! File transfer with the host (docs/files.md): files dropped on the page or picked in the
//! drawer are uploaded in chunks to `files/upload` (resumable: after a network error the client
//! asks the host how much it has and carries on from there), and the host's download folder is
//! listed in the drawer with links that fetch each file over the same authenticated origin.
//! The pure parts (chunk plan, retry delays, byte formatting, upload URLs) are exported for tests.

/** Bytes per PUT: large enough to keep the link busy, small enough to lose little on a drop. */
export const CHUNK_BYTES = 8 * 1024 * 1024;
/** Retries of one chunk before the upload is given up. */
export const MAX_RETRIES = 8;

/** The next chunk to send after `offset` bytes of `size`: [start, end), or null when done. */
export function nextChunk(offset: number, size: number, chunk = CHUNK_BYTES): [number, number] | null {
  if (offset >= size) return null;
  return [offset, Math.min(size, offset + chunk)];
}

/** Delay before retry `n` (0-based): 0.5, 1, 2, 4 s, then 5 s. */
export function retryDelayMs(n: number): number {
  return Math.min(5000, 500 * 2 ** n);
}

/** "1.5 MB"-style sizes (powers of 1024, one decimal). */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function startUrl(base: string, name: string, size: number): string {
  return `${base}upload?name=${encodeURIComponent(name)}&size=${size}`;
}

export function chunkUrl(base: string, id: string, offset: number): string {
  return `${base}upload/${encodeURIComponent(id)}?offset=${offset}`;
}

export interface HostFile {
  name: string;
  size: number;
  modified: number;
}

export interface UploadProgress {
  name: string;
  sent: number;
  size: number;
  /** Set once the host has the whole file: the name it was saved under. */
  savedAs?: string;
  error?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The `files/` routes, relative to the page (like `./turn`). */
export class FileClient {
  constructor(readonly base = './files/') {}

  /** The download folder; null when the host has file transfer off (404). Called when the drawer opens. */
  async list(): Promise<{ files: HostFile[]; maxUploadBytes: number | null } | null> {
    const res = await fetch(`${this.base}list`, { cache: 'no-store', credentials: 'same-origin' });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`listing failed: HTTP ${res.status}`);
    const body = (await res.json()) as { files: HostFile[]; max_upload_bytes: number | null };
    return { files: body.files, maxUploadBytes: body.max_upload_bytes };
  }

  downloadUrl(name: string): string {
    return `${this.base}download/${encodeURIComponent(name)}`;
  }

  /** Uploads `file`, resuming after network errors; reports progress after every chunk. */
  async upload(file: Blob & { name: string }, progress: (p: UploadProgress) => void): Promise<UploadProgress> {
    const p: UploadProgress = { name: file.name, sent: 0, size: file.size };
    const start = await fetch(startUrl(this.base, file.name, file.size), { method: 'POST', credentials: 'same-origin' });
    const opened = (await start.json().catch(() => ({}))) as { id?: string; done?: boolean; name?: string; error?: string };
    if (!start.ok) {
      p.error = opened.error ?? `HTTP ${start.status}`;
      progress(p);
      return p;
    }
    if (opened.done) {
      p.savedAs = opened.name;
      progress(p);
      return p;
    }
    const id = opened.id ?? '';
    let failures = 0;
    for (let span = nextChunk(p.sent, p.size); span; span = nextChunk(p.sent, p.size)) {
      try {
        const res = await fetch(chunkUrl(this.base, id, span[0]), {
          method: 'PUT',
          body: file.slice(span[0], span[1]),
          credentials: 'same-origin',
        });
        const body = (await res.json().catch(() => ({}))) as { offset?: number; done?: boolean; name?: string; error?: string };
        if (res.status === 409 || (!res.ok && res.status >= 500)) throw new Error(body.error ?? `HTTP ${res.status}`);
        if (!res.ok) {
          p.error = body.error ?? `HTTP ${res.status}`;
          break;
        }
        p.sent = body.offset ?? span[1];
        failures = 0;
        if (body.done) p.savedAs = body.name;
        progress(p);
      } catch (e) {
        // A dropped connection or a stale offset: ask where the host is and go on from there.
        if (++failures > MAX_RETRIES) {
          p.error = `gave up: ${String(e)}`;
          break;
        }
        await sleep(retryDelayMs(failures - 1));
        p.sent = (await this.offset(id)) ?? p.sent;
        progress(p);
      }
    }
    progress(p);
    return p;
  }

  /** How many bytes of upload `id` the host holds; null when it cannot say now. */
  async offset(id: string): Promise<number | null> {
    try {
      const res = await fetch(`${this.base}upload/${encodeURIComponent(id)}`, { cache: 'no-store', credentials: 'same-origin' });
      if (!res.ok) return null;
      const body = (await res.json()) as { offset: number; busy?: boolean };
      return body.busy ? null : body.offset;
    } catch {
      return null;
    }
  }
}

function byId<T extends HTMLElement>(id: string): T | null {
  return document.getElementById(id) as T | null;
}

/** The drawer's Files section and drag-and-drop onto the page. */
export class FilesPanel {
  private readonly client = new FileClient();
  private readonly picker = byId<HTMLInputElement>('file-picker');
  private readonly uploads = byId<HTMLUListElement>('upload-list');
  private readonly downloads = byId<HTMLUListElement>('download-list');
  private readonly status = byId<HTMLElement>('files-status');

  constructor(private readonly log: (text: string) => void) {}

  attach(): void {
    this.picker?.addEventListener('change', () => {
      for (const f of Array.from(this.picker?.files ?? [])) void this.send(f);
      if (this.picker) this.picker.value = '';
    });
    byId('btn-files-refresh')?.addEventListener('click', () => void this.refresh());
    window.addEventListener('dragover', (e) => {
      if (e.dataTransfer?.types.includes('Files')) {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
      }
    });
    window.addEventListener('drop', (e) => {
      const files = Array.from(e.dataTransfer?.files ?? []);
      if (files.length === 0) return;
      e.preventDefault();
      for (const f of files) void this.send(f);
    });
  }

  async refresh(): Promise<void> {
    try {
      const listed = await this.client.list();
      if (!listed) {
        this.setStatus('File transfer is off on this host (--enable_file_transfer).');
        return;
      }
      const max = listed.maxUploadBytes === null ? 'no limit' : `up to ${formatBytes(listed.maxUploadBytes)}`;
      this.setStatus(`Drop files on the page or pick them to upload (${max}).`);
      if (!this.downloads) return;
      this.downloads.replaceChildren(
        ...listed.files.map((f) => {
          const li = document.createElement('li');
          const a = document.createElement('a');
          a.href = this.client.downloadUrl(f.name);
          a.download = f.name;
          a.textContent = f.name;
          li.append(a, ` ${formatBytes(f.size)}`);
          return li;
        }),
      );
    } catch (e) {
      this.setStatus(`Files: ${String(e)}`);
    }
  }

  /** Uploads one file with a progress line in the drawer. */
  async send(file: File): Promise<UploadProgress> {
    const li = document.createElement('li');
    const bar = document.createElement('progress');
    bar.max = Math.max(1, file.size);
    const label = document.createElement('span');
    li.append(bar, label);
    this.uploads?.prepend(li);
    const done = await this.client.upload(file, (p) => {
      bar.value = p.sent;
      label.textContent = ` ${p.name}: ${formatBytes(p.sent)} / ${formatBytes(p.size)}`;
    });
    label.textContent = done.error ? ` ${done.name}: ${done.error}` : ` ${done.name}: saved as ${done.savedAs ?? '?'}`;
    this.log(`upload ${label.textContent.trim()}`);
    return done;
  }

  private setStatus(text: string): void {
    if (this.status) this.status.textContent = text;
  }
}
