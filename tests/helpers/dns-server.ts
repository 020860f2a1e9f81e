/** A DNS server on loopback (UDP) answering A records from a table a test can change. */
import { createSocket } from 'node:dgram';
import * as packet from 'dns-packet';

export interface TestDns {
  /** `127.0.0.1:PORT`, for `dns.servers` in the gateway config. */
  readonly server: string;
  /** name -> addresses; changed between requests. */
  readonly records: Map<string, string[]>;
  ttlSeconds: number;
  queries: number;
  close(): Promise<void>;
}

export async function startDns(ttlSeconds = 1): Promise<TestDns> {
  const socket = createSocket('udp4');
  const dns: TestDns = {
    server: '',
    records: new Map(),
    ttlSeconds,
    queries: 0,
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
  socket.on('message', (msg, rinfo) => {
    let query: packet.Packet;
    try {
      query = packet.decode(msg);
    } catch {
      return;
    }
    dns.queries++;
    const q = query.questions?.[0];
    const addresses = q && q.type === 'A' ? (dns.records.get(q.name) ?? []) : [];
    const known = q ? dns.records.has(q.name) : false;
    const answer = packet.encode({
      id: query.id,
      type: 'response',
      flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (known ? 0 : 3), // 3 = NXDOMAIN
      questions: query.questions,
      answers: addresses.map((data) => ({ type: 'A' as const, name: q!.name, ttl: dns.ttlSeconds, data })),
    });
    socket.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  (dns as { server: string }).server = `127.0.0.1:${socket.address().port}`;
  return dns;
}
