/** Session affinity kept in memory: a session is forgotten after its lifetime, and there are never more than the table's capacity. */
import { MemorySessionTable } from '../../runtime/src/quota/session-table';
import { ManualClock } from '../helpers/manual-clock';

describe('MemorySessionTable', () => {
  it('forgets a session after its lifetime, and a refresh extends it', async () => {
    const clock = new ManualClock(1_000_000);
    const table = new MemorySessionTable(() => clock.now());
    await table.set('chat:a', 'sim/acct-1', 60_000);
    await table.set('chat:b', 'sim/acct-1', 60_000);
    clock.advance(40_000);
    await table.set('chat:b', 'sim/acct-2', 60_000);
    clock.advance(20_000);
    expect(await table.get('chat:a')).toBeUndefined();
    expect(await table.get('chat:b')).toBe('sim/acct-2');
    expect(table.size).toBe(1);
  });

  it('holds at most its capacity of client-named sessions, the least recently used going first', async () => {
    const clock = new ManualClock(1_000_000);
    const table = new MemorySessionTable(() => clock.now(), 1_000);
    await table.set('chat:kept', 'sim/acct-1', 600_000);
    for (let i = 0; i < 20_000; i++) {
      await table.set(`chat:session-${i}`, 'sim/acct-1', 600_000);
      await table.set('chat:kept', 'sim/acct-1', 600_000); // in use: stays
    }
    expect(table.size).toBe(1_000);
    expect(await table.get('chat:session-0')).toBeUndefined();
    expect(await table.get('chat:session-19999')).toBe('sim/acct-1');
    expect(await table.get('chat:kept')).toBe('sim/acct-1');
  });
});
