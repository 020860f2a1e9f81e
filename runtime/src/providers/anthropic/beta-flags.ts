/**
 * `anthropic-beta` flags by target kind. Clients (coding agents above all) send flags by
 * habit; a target that does not know one refuses the whole request, so each target gets
 * only the flags it takes and the others are dropped with a note, never a 400.
 * The Anthropic API knows its own flags; a spoke gateway filters for its own targets;
 * Claude on Bedrock takes the flags below (some under a name of its own).
 */

/** Client flag -> the flag Claude on Bedrock takes for it (InvokeModel `anthropic_beta`). */
const BEDROCK_FLAGS: ReadonlyMap<string, string> = new Map([
  ['computer-use-2024-10-22', 'computer-use-2024-10-22'],
  ['computer-use-2025-01-24', 'computer-use-2025-01-24'],
  ['computer-use-2025-11-24', 'computer-use-2025-11-24'],
  ['token-efficient-tools-2025-02-19', 'token-efficient-tools-2025-02-19'],
  ['output-128k-2025-02-19', 'output-128k-2025-02-19'],
  ['interleaved-thinking-2025-05-14', 'interleaved-thinking-2025-05-14'],
  ['dev-full-thinking-2025-05-14', 'dev-full-thinking-2025-05-14'],
  ['fine-grained-tool-streaming-2025-05-14', 'fine-grained-tool-streaming-2025-05-14'],
  ['context-management-2025-06-27', 'context-management-2025-06-27'],
  ['context-1m-2025-08-07', 'context-1m-2025-08-07'],
  ['tool-search-tool-2025-10-19', 'tool-search-tool-2025-10-19'],
  // Anthropic's name for tool search; Bedrock knows it by its earlier one.
  ['advanced-tool-use-2025-11-20', 'tool-search-tool-2025-10-19'],
  ['tool-examples-2025-10-29', 'tool-examples-2025-10-29'],
  ['effort-2025-11-24', 'effort-2025-11-24'],
  ['compact-2026-01-12', 'compact-2026-01-12'],
  ['mid-conversation-output-config-2026-07-01', 'mid-conversation-output-config-2026-07-01'],
  ['mid-conversation-tool-changes-2026-07-01', 'mid-conversation-tool-changes-2026-07-01'],
  ['thinking-binding-controls-2026-08-01', 'thinking-binding-controls-2026-08-01'],
  ['thinking-display-updates-2026-08-18', 'thinking-display-updates-2026-08-18'],
  ['dangerous-tool-use-2026-09-03', 'dangerous-tool-use-2026-09-03'],
]);

/** Where the flags go: the Anthropic API, Claude on Bedrock, another gateway, or a translated (non-Claude) target. */
export type BetaTarget = 'anthropic' | 'bedrock' | 'gateway' | 'translated';

export interface BetaSelection {
  /** The flags to send, in the target's names. */
  readonly send: string[];
  /** The client's flags left out. */
  readonly dropped: string[];
}

export function betasFor(target: BetaTarget, flags: readonly string[]): BetaSelection {
  if (flags.length === 0) return { send: [], dropped: [] };
  if (target === 'anthropic' || target === 'gateway') return { send: [...flags], dropped: [] };
  if (target === 'translated') return { send: [], dropped: [...flags] };
  const send = new Set<string>();
  const dropped: string[] = [];
  for (const flag of flags) {
    const mapped = BEDROCK_FLAGS.get(flag);
    if (mapped) send.add(mapped);
    else dropped.push(flag);
  }
  return { send: [...send], dropped };
}

/** The note a request's log line gets for flags a target did not take. */
export function droppedBetasNote(selection: BetaSelection, target: string): string[] {
  return selection.dropped.length > 0 ? [`anthropic-beta ${selection.dropped.join(',')} not sent to ${target}`] : [];
}
