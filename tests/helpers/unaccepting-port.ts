/**
 * A loopback port whose connections never open: a child process listens with a backlog
 * of one and never accepts (its event loop blocked), and the accept queue is filled, so
 * the kernel drops further SYNs and a connect hangs, as it does towards a dead host.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';

const CHILD = `
const s = require('node:net').createServer();
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(s.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000));
});
`;

export interface UnacceptingPort {
  readonly port: number;
  close(): void;
}

export async function unacceptingPort(): Promise<UnacceptingPort> {
  const child: ChildProcess = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`the listening child exited (${code})`)));
  });
  // Fill the accept queue (backlog + 1 on Linux); later connections stay in SYN_SENT.
  const fillers: Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    fillers.push(s);
  }
  await new Promise((r) => setTimeout(r, 100));
  return {
    port,
    close() {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    },
  };
}
