import { OverlapTrimmer, overlapLength } from '../../runtime/src/stream/overlap';

const through = (sent: string, pieces: string[]) => {
  const t = new OverlapTrimmer(sent);
  return pieces.map((p) => t.push(p)).join('') + t.flush();
};

describe('continuation overlap', () => {
  it('drops the repeated end of what was sent', () => {
    expect(overlapLength('The quick brown fox', 'brown fox jumps')).toBe(9);
    expect(through('The quick brown fox', ['brown ', 'fox jumps', ' over'])).toBe(' jumps over');
  });

  it('drops a whole restart of a long answer, in small pieces', () => {
    const sent = 'word '.repeat(300);
    const pieces = (sent + 'and the rest.').match(/.{1,7}/gs)!;
    expect(through(sent, pieces)).toBe('and the rest.');
  });

  it('passes a continuation that repeats nothing, without holding it to the end', () => {
    const t = new OverlapTrimmer('Hello there.');
    expect(t.push('Zebras run.')).toBe('Zebras run.');
  });

  it('passes nothing when the continuation only repeats part of what was sent', () => {
    expect(through('one two three four', ['one two'])).toBe('');
  });

  it('stays fast on a large repetitive chunk', () => {
    const sent = 'a'.repeat(50_000);
    const t = new OverlapTrimmer(sent);
    expect(t.push('b'.repeat(40_000))).toBe('b'.repeat(40_000));
  });
});
