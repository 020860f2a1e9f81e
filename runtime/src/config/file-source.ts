/** The config file as a hot-reload source: polled by mtime and size (by path, which survives editors that replace files). */
import { readFileSync, statSync } from 'node:fs';
import type { ConfigTextParser } from './parse';
import type { ConfigSource } from './watch';

export interface FileSourceOptions {
  /** How often the file's mtime is polled (default 500 ms). */
  intervalMs?: number;
  /**
   * The text the running config was parsed from: a version that differs from it is new, even
   * when it was written before the watch began (default: the file as it is now).
   */
  loaded?: string;
}

export class FileConfigSource implements ConfigSource {
  readonly name: string;
  private last = '';
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    /** YAML or JSON (load.ts), or JSON only in the Lambda proxy. */
    readonly parse: ConfigTextParser,
    opts: FileSourceOptions = {},
  ) {
    this.name = path;
    this.intervalMs = opts.intervalMs ?? 500;
    if (opts.loaded !== undefined) this.last = opts.loaded;
    else {
      try {
        this.last = readFileSync(path, 'utf8');
      } catch {
        // reported by the first reload attempt
      }
    }
  }

  start(onText: (text: string) => void): void {
    /** The file's mtime and size at the last look; a change of either is read. */
    let seen: string | undefined;
    const look = () => {
      let text: string;
      try {
        const st = statSync(this.path);
        const now = `${st.mtimeMs}:${st.size}`;
        if (now === seen) return;
        seen = now;
        text = readFileSync(this.path, 'utf8');
      } catch {
        return; // deleted or unreadable: keep running on what we have
      }
      if (text === this.last) return;
      this.last = text;
      onText(text);
    };
    // The first look reads the file and compares it with the running config's text: an edit
    // made since start-up read it is new however soon it came (fs.watchFile takes its first
    // stat later, and would count such an edit as the file's starting state).
    look();
    this.timer = setInterval(look, this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Whether the file exists now (a source for a missing file would never fire). */
  exists(): boolean {
    try {
      statSync(this.path);
      return true;
    } catch {
      return false;
    }
  }
}
