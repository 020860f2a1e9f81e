/**
 * Masks e-mail addresses, phone numbers and payment card numbers in text: `[EMAIL]`,
 * `[PHONE]`, `[CARD]`. Numbers are judged as whole runs (digit groups joined by single
 * spaces, dots or dashes), so a masked span is never the middle of a longer number.
 */
import type { MaskKind } from '../config/schema';

export const MASKS: Readonly<Record<MaskKind, string>> = { email: '[EMAIL]', phone: '[PHONE]', card: '[CARD]' };

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}/g;
/** A number run: optional "+", optional "(area)", digit groups with one separator between; not glued to a word. */
const NUMBER_RUN = /(?<![\w+.-])\+?(?:\(\d{1,4}\)[ .-]?)?\d+(?:[ .-]\d+)*(?!\w)/g;
const GROUP = /\(?\d+\)?/g;
/** North American: 415-555-0123, 1 415 555 0123. */
const NANP = /^(?:1[ .-])?\d{3}[ .-]\d{3}[ .-]\d{4}$/;
/** Longest phone number in groups (e.g. +44 20 7946 0958 is 4). */
const MAX_PHONE_GROUPS = 6;

/** `text` with each kind in `kinds` replaced by its mask; the same string when nothing matched. */
export function maskText(text: string, kinds: ReadonlySet<MaskKind>): string {
  let out = kinds.has('email') ? text.replace(EMAIL, MASKS.email) : text;
  if (kinds.has('card') || kinds.has('phone')) out = out.replace(NUMBER_RUN, (run) => maskNumberRun(run, kinds));
  return out;
}

function maskNumberRun(run: string, kinds: ReadonlySet<MaskKind>): string {
  const digits = run.replace(/\D/g, '');
  // Card-shaped runs are a card or nothing: a number that fails Luhn is left whole.
  if (isCardShaped(run, digits)) return kinds.has('card') && luhnValid(digits) ? MASKS.card : run;
  return kinds.has('phone') ? maskPhonesIn(run) : run;
}

/** 13-19 digits, no "+" or "(", only spaces or dashes, groups of 4 or more (the last may be shorter). */
function isCardShaped(run: string, digits: string): boolean {
  if (digits.length < 13 || digits.length > 19 || /[+(.]/.test(run)) return false;
  const groups = run.split(/[ -]/);
  return groups.every((g, i) => g.length >= 4 || i === groups.length - 1);
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The leftmost-longest spans of whole groups that read as phone numbers, masked. */
function maskPhonesIn(run: string): string {
  const groups = [...run.matchAll(GROUP)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
  let out = '';
  let copied = 0;
  for (let s = 0; s < groups.length; s++) {
    for (let e = Math.min(groups.length, s + MAX_PHONE_GROUPS) - 1; e >= s; e--) {
      const from = s === 0 ? 0 : groups[s].start; // the leading "+" belongs to the first group
      if (!isPhone(run.slice(from, groups[e].end))) continue;
      out += run.slice(copied, from) + MASKS.phone;
      copied = groups[e].end;
      s = e;
      break;
    }
  }
  return copied === 0 ? run : out + run.slice(copied);
}

/** International (+), with an area code in parentheses, North American, or national with a trunk 0. */
function isPhone(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '').length;
  if (digits < 7 || digits > 15) return false;
  if (candidate.startsWith('+') || candidate.startsWith('(')) return true;
  if (NANP.test(candidate)) return true;
  return /^0\d/.test(candidate) && digits >= 9 && /[ .-]/.test(candidate);
}
