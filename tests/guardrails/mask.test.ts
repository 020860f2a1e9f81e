/** What the local masks replace, and what they leave alone. */
import type { MaskKind } from '../../runtime/src/config/schema';
import { luhnValid, maskText } from '../../runtime/src/guardrails/mask';

const ALL = new Set<MaskKind>(['email', 'phone', 'card']);
const only = (...kinds: MaskKind[]) => new Set<MaskKind>(kinds);

describe('e-mail addresses', () => {
  test.each([
    ['write to jane.doe+news@example.co.uk today', 'write to [EMAIL] today'],
    ['a@b.io, C_D@mail-server.example.com.', '[EMAIL], [EMAIL].'],
  ])('%s', (text, want) => {
    expect(maskText(text, ALL)).toBe(want);
  });

  test('not an address: left alone', () => {
    for (const text of ['user@localhost', 'an @ sign', 'me@x.c', 'email me at jane (dot) doe']) expect(maskText(text, ALL)).toBe(text);
  });
});

describe('card numbers (Luhn-checked, 13-19 digits)', () => {
  test.each([
    ['pay with 4111 1111 1111 1111 please', 'pay with [CARD] please'],
    ['visa 4111-1111-1111-1111.', 'visa [CARD].'],
    ['number 4012888888881881', 'number [CARD]'],
    ['amex 3782 822463 10005', 'amex [CARD]'],
    ['13 digits: 4222222222222', '13 digits: [CARD]'],
    ['19 digits: 6011 0000 0000 0000 001 end', '19 digits: [CARD] end'],
  ])('%s', (text, want) => {
    expect(maskText(text, ALL)).toBe(want);
  });

  test('a number of card length that fails Luhn is left whole (and not taken for a phone)', () => {
    expect(luhnValid('4111111111111112')).toBe(false);
    for (const text of ['4111 1111 1111 1112', 'order 4111111111111112 shipped', '0400 1234 5678 9012']) {
      expect(maskText(text, ALL)).toBe(text);
    }
  });

  test('too short or too long for a card: not a card', () => {
    expect(maskText('id 411111111111 (12 digits)', ALL)).toBe('id 411111111111 (12 digits)');
    // 20 digits that pass Luhn: still no card.
    expect(luhnValid('41111111111111111115')).toBe(true);
    expect(maskText('ref 41111111111111111115', ALL)).toBe('ref 41111111111111111115');
  });
});

describe('phone numbers', () => {
  test.each([
    ['call +1 415 555 0123 now', 'call [PHONE] now'],
    ['call +14155550123', 'call [PHONE]'],
    ['(415) 555-0123', '[PHONE]'],
    ['office 415.555.0123, mobile 1-800-555-0199.', 'office [PHONE], mobile [PHONE].'],
    ['London +44 20 7946 0958', 'London [PHONE]'],
    ['Paris 01 23 45 67 89', 'Paris [PHONE]'],
    ['born 1990 415-555-0123', 'born 1990 [PHONE]'],
  ])('%s', (text, want) => {
    expect(maskText(text, ALL)).toBe(want);
  });

  test('dates, versions, amounts and short numbers are not phones', () => {
    for (const text of ['on 2024-01-15 at 10.30', 'version 1.2.3', 'costs 1 234 567 euros', 'room 4155', 'ip 10.0.0.1']) {
      expect(maskText(text, ALL)).toBe(text);
    }
  });
});

describe('kinds are masked only when configured', () => {
  const text = 'jane@example.com, +1 415 555 0123, 4111 1111 1111 1111';
  test.each([
    [only('email'), '[EMAIL], +1 415 555 0123, 4111 1111 1111 1111'],
    [only('phone'), 'jane@example.com, [PHONE], 4111 1111 1111 1111'],
    [only('card'), 'jane@example.com, +1 415 555 0123, [CARD]'],
    [ALL, '[EMAIL], [PHONE], [CARD]'],
  ])('%p', (kinds, want) => {
    expect(maskText(text, kinds)).toBe(want);
  });

  test('nothing to mask: the very same string', () => {
    const text = 'nothing personal here, 42 times';
    expect(maskText(text, ALL)).toBe(text);
  });
});
