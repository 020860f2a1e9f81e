'use strict';
/** Percentiles, medians and number formatting for the benchmark tables. */

/** The q-quantile (0..1) of unsorted samples, nearest-rank; NaN when there are none. */
function percentile(samples, q) {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function median(values) {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length === 0 ? NaN : percentile(v, 0.5);
}

/** Latency summary of a set of samples in ms. */
function summarize(samples) {
  return { n: samples.length, p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

/** A number with about three significant digits, '-' when unknown. */
function fmt(x, digits = 3) {
  if (x === undefined || x === null || Number.isNaN(x)) return '-';
  if (typeof x !== 'number') return String(x);
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const abs = Math.abs(x);
  if (abs >= 1000 || Number.isInteger(x)) return Math.round(x).toLocaleString('en-US');
  const decimals = abs === 0 ? 0 : Math.max(0, digits - 1 - Math.floor(Math.log10(abs)));
  return x.toFixed(Math.min(decimals, 4));
}

const ms = (x) => (Number.isFinite(x) ? `${fmt(x)} ms` : '-');
const pct = (x) => (Number.isFinite(x) ? `${fmt(x * 100)}%` : '-');
const ratio = (x) => (Number.isFinite(x) ? `${fmt(x)}x` : '-');

module.exports = { percentile, median, summarize, fmt, ms, pct, ratio };
