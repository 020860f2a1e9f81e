/**
 * One Anthropic message as the client receives it, assembled from one or more upstream
 * streams (a continuation after a break). Text streams through as it comes; every other
 * block (thinking, tool_use, server tool blocks) is held until its upstream block is
 * complete and then sent whole, so a break never leaves the client a thinking block
 * without its signature or a tool call with half its input. Block indexes are the
 * client's own, counted without gaps across upstreams; a continuation's text that goes
 * on with the client's open text block is merged into it, its repeats dropped.
 */
import { contentBlocks, thinkingOn, type ContentBlockParam, type MessagesRequest } from '../core/messages-request';
import type { MessagesEvent } from '../providers/messages-types';
import { tokensForChars } from '../quota/token-estimate';
import { OverlapTrimmer } from './overlap';

/** While a block is held, the client gets a ping at least this often (idle connections get cut). */
const PING_EVERY_MS = 10_000;

const ping: MessagesEvent = { type: 'ping', data: { type: 'ping' }, raw: '{"type":"ping"}' };

/** Usage numbers an upstream reported (message_start, then message_delta). */
export interface MessageUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

interface Held {
  /** Its index upstream. */
  readonly upstream: number;
  readonly events: MessagesEvent[];
  readonly block: Record<string, unknown> & { type: string };
  json: string;
}

export class ClientMessage {
  /** The stop reason, once an upstream sent it: the answer is whole. */
  stopReason: string | undefined;
  /** message_stop went out. */
  stopped = false;
  /** Usage of the prompt, as the first upstream reported it. */
  readonly usage: MessageUsage = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  private started = false;
  private nextIndex = 0;
  /** Complete blocks the client has, in order. */
  private readonly blocks: ContentBlockParam[] = [];
  /** The client's text block still open (and whether a previous upstream opened it). */
  private open: { index: number; text: string; carried: boolean } | undefined;
  private held: Held | undefined;
  private trimmer: OverlapTrimmer | undefined;
  /** Upstream block index -> the client's, for the current upstream. */
  private readonly indexes = new Map<number, number>();
  private attemptBlocks = 0;
  /** Output of earlier upstreams (their reported or estimated tokens) and of the current one. */
  private priorOutput = 0;
  private attemptOutput: number | undefined;
  private attemptChars = 0;
  /** The prompt usage the current upstream reported in its message_start (a continuation's is its own, longer prompt). */
  private attemptInput: Omit<MessageUsage, 'output_tokens'> | undefined;
  private continued = false;
  private lastSent: number;

  constructor(private readonly now: () => number) {
    this.lastSent = now();
  }

  /** The client's events for one upstream event (often none). */
  accept(ev: MessagesEvent): MessagesEvent[] {
    const out = this.route(ev);
    if (out.length > 0) this.lastSent = this.now();
    return out;
  }

  /** A new upstream continues this message: its events are mapped afresh. */
  continueWith(): void {
    this.priorOutput += this.attemptOutput ?? tokensForChars(this.attemptChars);
    this.attemptOutput = undefined;
    this.attemptChars = 0;
    this.attemptInput = undefined;
    this.attemptBlocks = 0;
    this.indexes.clear();
    this.held = undefined; // never sent: its upstream is gone
    this.continued = true;
    if (this.open) {
      this.open.carried = true;
      this.trimmer = this.open.text.length > 0 ? new OverlapTrimmer(this.open.text) : undefined;
    }
  }

  /** The events that end an answer whose upstream was whole but sent no message_stop. */
  finish(): MessagesEvent[] {
    const out = this.closeCarried();
    if (!this.stopped) {
      this.stopped = true;
      out.push({ type: 'message_stop', data: { type: 'message_stop' } });
    }
    return out;
  }

  /** Ends the answer after its complete tool calls, when nothing could continue it past them. */
  finishAtToolUse(): MessagesEvent[] {
    this.stopReason = 'tool_use';
    const delta: MessagesEvent = {
      type: 'message_delta',
      data: { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: this.outputTokens() } },
    };
    return [delta, ...this.finish()];
  }

  /** The tokens the current upstream produced (reported, else estimated), for its quota. */
  attemptTokens(): number {
    return this.attemptOutput ?? tokensForChars(this.attemptChars);
  }

  /**
   * What the current upstream billed: its prompt as it reported it (else, at least, the
   * client's prompt) and its output, reported or estimated.
   */
  attemptUsage(): MessageUsage {
    const { input_tokens, cache_creation_input_tokens, cache_read_input_tokens } = this.attemptInput ?? this.usage;
    return { input_tokens, cache_creation_input_tokens, cache_read_input_tokens, output_tokens: this.attemptTokens() };
  }

  /** Output tokens of the whole answer, every upstream included. */
  outputTokens(): number {
    return this.priorOutput + this.attemptTokens();
  }

  /** The text the client received. */
  receivedText(): string {
    let text = '';
    for (const b of this.blocks) if (b.type === 'text') text += b.text as string;
    return text + (this.open?.text ?? '');
  }

  /**
   * The requests that continue this answer, best first. Nothing of it sent: the turn
   * from its start, as the client asked. Else the client's blocks as an assistant turn
   * (thinking blocks left out: prefill is refused with thinking on, so a continuation
   * asks without it and never sends a signature of its own): prefilled where the target
   * continues a trailing assistant turn, else followed by an explicit request to go on,
   * which cannot follow a tool call (a tool_use needs its result next).
   */
  continuation(req: MessagesRequest, prefill: boolean, continuePrompt: string): MessagesRequest[] {
    const prefix: ContentBlockParam[] = this.blocks.filter((b) => b.type !== 'thinking' && b.type !== 'redacted_thinking' && !(b.type === 'text' && b.text === ''));
    if (this.open && this.open.text !== '') prefix.push({ type: 'text', text: this.open.text });
    if (prefix.length === 0) return [req];
    const last = prefix[prefix.length - 1];
    // Anthropic refuses a final assistant text that ends in whitespace; the overlap trimmer takes the model's repeat of it.
    if (last.type === 'text') {
      const text = (last.text as string).trimEnd();
      if (text === '') prefix.pop();
      else prefix[prefix.length - 1] = { type: 'text', text };
    }
    const afterToolUse = prefix.at(-1)?.type === 'tool_use';
    const base: MessagesRequest = { ...req, max_tokens: Math.max(1, req.max_tokens - this.outputTokens()) };
    // Thinking asked for, or on by the model's default (the answer has a thinking block): off for the continuation.
    if (thinkingOn(req) || this.blocks.some((b) => b.type === 'thinking' || b.type === 'redacted_thinking')) base.thinking = { type: 'disabled' };
    const history = req.messages.slice();
    const tail = history.at(-1);
    // The client's own prefill stays the start of the assistant turn.
    const assistant =
      tail?.role === 'assistant' ? (history.pop(), { role: 'assistant' as const, content: [...contentBlocks(tail.content), ...prefix] }) : { role: 'assistant' as const, content: prefix };
    const prefilled: MessagesRequest = { ...base, messages: [...history, assistant] };
    const explicit: MessagesRequest = { ...base, messages: [...history, assistant, { role: 'user', content: continuePrompt }] };
    if (afterToolUse) return [prefilled];
    return prefill ? [prefilled, explicit] : [explicit];
  }

  /** Whether the client's last complete block is a tool call (an answer may end after it). */
  endsAtToolUse(): boolean {
    return !this.open && this.blocks.at(-1)?.type === 'tool_use';
  }

  private route(ev: MessagesEvent): MessagesEvent[] {
    const d = ev.data;
    switch (ev.type) {
      case 'message_start':
        return this.onStart(ev);
      case 'content_block_start':
        return this.onBlockStart(ev, Number(d.index), d.content_block as Record<string, unknown> & { type: string });
      case 'content_block_delta':
        return this.onBlockDelta(ev, Number(d.index), d.delta as Record<string, unknown> & { type?: string });
      case 'content_block_stop':
        return this.onBlockStop(ev, Number(d.index));
      case 'message_delta':
        return this.onMessageDelta(ev);
      case 'message_stop':
        if (this.stopped) return [];
        this.stopped = true;
        return [...this.closeCarried(), ev];
      default:
        return [ev]; // ping, and event kinds newer than this code
    }
  }

  private onStart(ev: MessagesEvent): MessagesEvent[] {
    const usage = (ev.data.message as { usage?: Record<string, unknown> } | undefined)?.usage;
    const input = { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    for (const key of ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const) {
      if (typeof usage?.[key] === 'number') input[key] = usage[key];
    }
    this.attemptInput = input;
    if (this.started) return []; // a continuation's own start
    this.started = true;
    Object.assign(this.usage, input);
    return [ev];
  }

  private onBlockStart(ev: MessagesEvent, upstream: number, block: Record<string, unknown> & { type: string }): MessagesEvent[] {
    const first = this.attemptBlocks++ === 0;
    if (block?.type === 'text') {
      if (first && this.open?.carried) {
        // Goes on with the client's open text block (prefill continues it; a new answer repeats it).
        this.indexes.set(upstream, this.open.index);
        this.open.carried = false;
        return this.openText(this.open.index, typeof block.text === 'string' ? block.text : '');
      }
      const out = this.closeCarried();
      const index = this.nextIndex++;
      this.indexes.set(upstream, index);
      this.open = { index, text: typeof block.text === 'string' ? block.text : '', carried: false };
      out.push(reindexed(ev, index));
      return out;
    }
    const out = this.closeCarried();
    this.held = { upstream, events: [ev], block: { ...block }, json: '' };
    return out;
  }

  private onBlockDelta(ev: MessagesEvent, upstream: number, delta: Record<string, unknown> & { type?: string }): MessagesEvent[] {
    const held = this.held;
    if (held?.upstream === upstream) {
      held.events.push(ev);
      const b = held.block;
      if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string') {
        b.thinking = `${(b.thinking as string | undefined) ?? ''}${delta.thinking}`;
        this.attemptChars += delta.thinking.length;
      } else if (delta.type === 'signature_delta') b.signature = delta.signature;
      else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
        held.json += delta.partial_json;
        this.attemptChars += delta.partial_json.length;
      }
      return this.now() - this.lastSent >= PING_EVERY_MS ? [ping] : [];
    }
    const index = this.indexes.get(upstream);
    if (index === undefined) return []; // a delta for a block that never started: dropped
    if (delta.type === 'text_delta' && typeof delta.text === 'string' && this.open?.index === index) {
      this.attemptChars += delta.text.length;
      return this.openText(index, delta.text, ev);
    }
    return [reindexed(ev, index)];
  }

  private onBlockStop(ev: MessagesEvent, upstream: number): MessagesEvent[] {
    const held = this.held;
    if (held?.upstream === upstream) {
      this.held = undefined;
      const index = this.nextIndex++;
      this.indexes.set(upstream, index);
      if (held.block.type === 'tool_use' || held.block.type === 'server_tool_use') held.block.input = parseInput(held.json, held.block.input);
      this.blocks.push(held.block);
      return [...held.events.map((e) => reindexed(e, index)), reindexed(ev, index)];
    }
    const index = this.indexes.get(upstream);
    if (index === undefined || this.open?.index !== index) return [];
    return this.closeOpen(reindexed(ev, index));
  }

  private onMessageDelta(ev: MessagesEvent): MessagesEvent[] {
    const d = ev.data;
    const reason = (d.delta as { stop_reason?: unknown } | undefined)?.stop_reason;
    if (typeof reason === 'string') this.stopReason = reason;
    const output = (d.usage as { output_tokens?: unknown } | undefined)?.output_tokens;
    if (typeof output === 'number') this.attemptOutput = output;
    const out = this.closeCarried();
    if (!this.continued) {
      out.push(ev);
      return out;
    }
    // The whole answer's output; the prompt stays the one the client sent (not the continuation's).
    out.push({ type: 'message_delta', data: { ...d, usage: { output_tokens: this.outputTokens() } } });
    return out;
  }

  /** Text for the open block, its repeat of what the client has removed (continuations). */
  private openText(index: number, piece: string, ev?: MessagesEvent): MessagesEvent[] {
    const text = this.trimmer ? this.trimmer.push(piece) : piece;
    if (text === '') return [];
    this.open!.text += text;
    if (ev && text === piece && !this.trimmer) return [reindexed(ev, index)];
    return [textDelta(index, text)];
  }

  /** Closes the client's open block: what the trimmer still held, then its stop. */
  private closeOpen(stop: MessagesEvent): MessagesEvent[] {
    const open = this.open!;
    const out: MessagesEvent[] = [];
    const rest = this.trimmer?.flush();
    if (rest) {
      open.text += rest;
      out.push(textDelta(open.index, rest));
    }
    this.trimmer = undefined;
    this.blocks.push({ type: 'text', text: open.text });
    this.open = undefined;
    out.push(stop);
    return out;
  }

  /** A text block an earlier upstream opened, which this one did not go on with: closed now. */
  private closeCarried(): MessagesEvent[] {
    if (!this.open?.carried) return [];
    return this.closeOpen({ type: 'content_block_stop', data: { type: 'content_block_stop', index: this.open.index } });
  }
}

/** `ev` with the client's index (the upstream's own text kept when it already matches). */
function reindexed(ev: MessagesEvent, index: number): MessagesEvent {
  if (ev.data.index === index) return ev;
  return { type: ev.type, data: { ...ev.data, index } };
}

function textDelta(index: number, text: string): MessagesEvent {
  return { type: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text } } };
}

/** A tool call's streamed input as the object a later request carries (the start's own when nothing streamed). */
function parseInput(json: string, initial: unknown): unknown {
  if (json.trim() === '') return initial ?? {};
  try {
    return JSON.parse(json);
  } catch {
    return initial ?? {};
  }
}
