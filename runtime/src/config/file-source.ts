/** The config file as a hot-reload source: polled by mtime, which survives editors that replace files. */
import { readFileSync, statSync, unwatchFile, watchFile } from 'node:fs';
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
    const check = () => {
      let text: string;
      try {
        text = readFileSync(this.path, 'utf8');
      } catch {
        return;
      }
      if (text === this.last) return;
      this.last = text;
      onText(text);
    };
    watchFile(this.path, { interval: this.intervalMs, persistent: false }, (curr) => {
      if (curr.mtimeMs === 0) return; // deleted: keep running on what we have
      check();
    });
    // An edit made since the running config was read, before the watch took its first stat,
    // moves no mtime the watch will see: compare once now (the watch covers what comes after).
    check();
  }

  stop(): void {
    unwatchFile(this.path);
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
