'use strict';
/**
 * Repetitions of a scenario that compares targets: in each one every mode is measured on
 * every target, back to back in an order that rotates from one repetition to the next (or,
 * at c=1, with the targets' requests interleaved), so that ratios come from the same
 * moment (absolute times drift on a shared machine, ratios less). Summaries are medians
 * over the repetitions; ratios are taken within each repetition, then their median.
 */
const { median } = require('./stats');

/**
 * How many repetitions of how many seconds per measurement: more, shorter repetitions, so
 * that the ratios come from moments closer together and their median shrugs off the odd
 * repetition the shared machine slowed (c=1 numbers swing most).
 */
function repetitionPlan(quick) {
  return quick ? { reps: 1, seconds: 1 } : { reps: 5, seconds: 2 };
}

/**
 * `measure(mode, target)` for every mode and target, `reps` times; one object per
 * repetition: rep[mode.id][target]. A mode marked `together` (the c=1 ones) is measured
 * on all targets at once, their requests interleaved: `measureTogether(mode, order)`
 * gives every target's result.
 */
async function repeat({ reps, modes, targets, measure, measureTogether, log }) {
  const repetitions = [];
  for (let r = 0; r < reps; r++) {
    const rep = {};
    for (const mode of modes) {
      rep[mode.id] = {};
      // Rotating the order keeps any drift from always favouring the same target.
      const order = targets.map((_, i) => targets[(i + r) % targets.length]);
      if (mode.together) rep[mode.id] = await measureTogether(mode, order);
      else for (const target of order) rep[mode.id][target] = await measure(mode, target);
      log(`  rep ${r + 1}/${reps} ${mode.id}: ${targets.map((x) => `${x} ${Math.round(rep[mode.id][x].rps)}/s p50 ${rep[mode.id][x].p50.toFixed(3)} ms`).join(', ')}`);
    }
    repetitions.push(rep);
  }
  return repetitions;
}

/**
 * byMode[mode][target]: medians of rps, p50, p99 (and `extra` keys where a mode has them),
 * errors and samples summed; ratios[name]: each repetition's `ratiosOf(rep)` and their median.
 */
function summarize(repetitions, { modes, targets, ratiosOf, extra = () => [] }) {
  const byMode = {};
  for (const mode of modes) {
    byMode[mode.id] = {};
    for (const target of targets) {
      const runs = repetitions.map((r) => r[mode.id][target]);
      const med = (k) => median(runs.map((x) => x[k]));
      const entry = { rps: med('rps'), p50: med('p50'), p99: med('p99'), errors: runs.reduce((a, x) => a + x.errors, 0), n: runs.reduce((a, x) => a + x.n, 0) };
      for (const key of extra(mode)) entry[key] = med(key);
      byMode[mode.id][target] = entry;
    }
  }
  const perRep = repetitions.map(ratiosOf);
  const ratios = {};
  for (const key of Object.keys(perRep[0])) ratios[key] = { median: median(perRep.map((r) => r[key])), values: perRep.map((r) => r[key]) };
  return { byMode, ratios };
}

module.exports = { repetitionPlan, repeat, summarize };
