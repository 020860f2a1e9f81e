/**
 * The runtime's folders depend one way (.dependency-cruiser.js, README "Layering"):
 * the tree has no back-edge and no import cycle, and the rules do catch both.
 */
import { expect } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '../..');
const CRUISER = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

/** Runs dependency-cruiser with the repository's rules over `runtime/src` of `cwd`. */
async function violations(cwd: string): Promise<Violation[]> {
  const args = [CRUISER, '--config', join(cwd, '.dependency-cruiser.js'), '--output-type', 'json', 'runtime/src'];
  // Exit status 1 only says that violations were found; the JSON says which.
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd, maxBuffer: 64 * 1024 * 1024 }).catch((err: { stdout?: string }) => {
    if (!err.stdout) throw err;
    return { stdout: err.stdout };
  });
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('runtime layering', () => {
  it('has no import that points up a layer or across to a sibling, and no cycle', async () => {
    const found = await violations(ROOT);
    expect(found.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
  });

  it('fails on a back-edge and on a cycle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'layers-'));
    try {
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      };
      copyFileSync(join(ROOT, '.dependency-cruiser.js'), join(dir, '.dependency-cruiser.js'));
      write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'Node16', moduleResolution: 'Node16', strict: true } }));
      write('runtime/src/core/clock.ts', "import type { Reply } from '../api/reply';\nexport type Clock = Reply;\n");
      write('runtime/src/api/reply.ts', 'export type Reply = string;\n');
      write('runtime/src/routing/a.ts', "import { b } from './b';\nexport const a = () => b;\n");
      write('runtime/src/routing/b.ts', "import { a } from './a';\nexport const b = () => a;\n");
      const found = await violations(dir);
      expect(found).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ rule: expect.objectContaining({ name: 'layer-core' }), from: 'runtime/src/core/clock.ts', to: 'runtime/src/api/reply.ts' }),
          expect.objectContaining({ rule: expect.objectContaining({ name: 'no-circular' }), from: 'runtime/src/routing/a.ts' }),
        ]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
