/** The config file as a hot-reload source: polled by mtime, which survives editors that replace files. */
import { readFileSync, statSync, unwatchFile, watchFile } from 'node:fs';
import type { ConfigTextParser } from './parse';
import type { ConfigSource } from './watch';

export class FileConfigSource implements ConfigSource {
  readonly name: string;
  private last = '';

  constructor(
    private readonly path: string,
    /** YAML or JSON (load.ts), or JSON only in the Lambda proxy. */
    readonly parse: ConfigTextParser,
    private readonly intervalMs = 500,
  ) {
    this.name = path;
    try {
      this.last = readFileSync(path, 'utf8');
    } catch {
      // reported by the first reload attempt
    }
  }

  start(onText: (text: string) => void): void {
    watchFile(this.path, { interval: this.intervalMs, persistent: false }, (curr) => {
      if (curr.mtimeMs === 0) return; // deleted: keep running on what we have
      let text: string;
      try {
        text = readFileSync(this.path, 'utf8');
      } catch {
        return;
      }
      if (text === this.last) return;
      this.last = text;
      onText(text);
    });
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
