/**
 * The rules of a Messages request that no field's own schema states, each of which
 * Anthropic answers with a 400 (and a translated target would otherwise meet as a
 * request it cannot make sense of): content that is empty where it may not be, a
 * tool_result answering no tool_use of the turn before, a tool_use left unanswered in the
 * turn after, tool_choice against tools, where
 * a mid-conversation system message may stand, and free-form JSON nested too deep. One
 * pass over the messages, after the schema's (or the compiled) check, on every request.
 */
import { echo } from './echo';
import { nestedDeeperThan, TOO_DEEP } from './json-depth';
import type { ContentBlockParam, CountTokensRequest, MessageParam } from './messages-request';

/** A rule a request breaks: the field (`messages.2.content.0`) and what is wrong with it. */
export interface MessagesIssue {
  path: string;
  message: string;
}

const EMPTY_CONTENT = 'all messages must have non-empty content except for the optional final assistant message';
const EMPTY_TEXT = 'text content blocks must be non-empty';
const BLANK_TEXT = 'text content blocks must contain non-whitespace text';
const NON_SPACE = /\S/;

/** The first rule `req` breaks, or undefined. */
export function messagesIssue(req: CountTokensRequest): MessagesIssue | undefined {
  return toolChoiceIssue(req) ?? topLevelIssue(req) ?? conversationIssue(req.messages);
}

function toolChoiceIssue(req: CountTokensRequest): MessagesIssue | undefined {
  const choice = req.tool_choice;
  if (choice === undefined || choice.type === 'auto' || choice.type === 'none') return undefined;
  if (!req.tools?.length) return { path: 'tool_choice', message: `tool_choice of type "${choice.type}" needs tools` };
  if (choice.type === 'tool' && !req.tools.some((t) => t.name === choice.name)) {
    return { path: 'tool_choice.name', message: `tool_choice names "${echo(choice.name)}", which is not in tools` };
  }
  return undefined;
}

/** Free-form values outside the messages (tool schemas, server tools' settings, newer top-level objects), and the system prompt's blocks. */
function topLevelIssue(req: CountTokensRequest): MessagesIssue | undefined {
  for (const key in req) {
    if (key === 'messages') continue;
    const value = req[key];
    if (key === 'tools' && Array.isArray(value)) {
      for (let k = 0; k < value.length; k++) {
        const issue = deepField(value[k] as object, `tools.${k}`);
        if (issue) return issue;
      }
    } else if (key === 'system' && Array.isArray(value)) {
      const issue = blocksIssue(value as ContentBlockParam[], 'system');
      if (issue) return issue;
    } else if (nestedDeeperThan(value)) return { path: key, message: TOO_DEEP };
  }
  return undefined;
}

function conversationIssue(messages: readonly MessageParam[]): MessagesIssue | undefined {
  const last = messages.length - 1;
  for (let i = 0; i <= last; i++) {
    const m = messages[i];
    const content = m.content;
    // Only the last message may be an empty assistant turn: the start of the answer (a prefill of nothing).
    if (content.length === 0 && (i < last || m.role !== 'assistant')) return { path: `messages.${i}.content`, message: EMPTY_CONTENT };
    if (m.role === 'system') {
      const issue = systemPlacement(messages, i);
      if (issue) return issue;
    }
    for (const key in m) {
      if (key !== 'role' && key !== 'content' && nestedDeeperThan((m as unknown as Record<string, unknown>)[key])) return { path: `messages.${i}.${key}`, message: TOO_DEEP };
    }
    const issue =
      (typeof content === 'string' ? undefined : (blocksIssue(content, `messages.${i}.content`, m.role === 'system') ?? toolResultsIssue(messages, i))) ??
      (i > 0 ? unansweredToolUse(messages, i - 1) : undefined);
    if (issue) return issue;
  }
  return undefined;
}

/**
 * A mid-conversation system message (Claude Opus 4.8; other models refuse it themselves):
 * never first, right after a user message or an assistant message ending in a server
 * tool use, last or followed by an assistant message (Anthropic's placement rules).
 */
function systemPlacement(messages: readonly MessageParam[], i: number): MessagesIssue | undefined {
  const path = `messages.${i}.role`;
  if (i === 0) return { path, message: 'a system message cannot be the first message; put instructions for the whole conversation in the top-level system field' };
  const before = messages[i - 1];
  const lastBlock = typeof before.content === 'string' ? undefined : before.content.at(-1);
  if (before.role !== 'user' && !(before.role === 'assistant' && lastBlock?.type === 'server_tool_use')) {
    return { path, message: 'a system message must immediately follow a user message, or an assistant message that ends in a server tool use' };
  }
  const after = messages[i + 1];
  if (after !== undefined && after.role !== 'assistant') return { path, message: 'a system message must be the last message or be followed by an assistant message' };
  return undefined;
}

/** Each block: text with more than whitespace, text only where `textOnly`, free-form fields not nested too deep (a tool_result's content blocks as blocks). */
function blocksIssue(blocks: readonly ContentBlockParam[], path: string, textOnly = false): MessagesIssue | undefined {
  for (let j = 0; j < blocks.length; j++) {
    const b = blocks[j];
    const at = `${path}.${j}`;
    if (b.type === 'text') {
      if (b.text === '') return { path: `${at}.text`, message: EMPTY_TEXT };
      if (typeof b.text === 'string' && !NON_SPACE.test(b.text)) return { path: `${at}.text`, message: BLANK_TEXT };
    } else if (textOnly) return { path: `${at}.type`, message: `a system message takes text blocks only, not ${echo(b.type)}` };
    if (b.type === 'tool_result' && Array.isArray(b.content)) {
      const inner = blocksIssue(b.content as ContentBlockParam[], `${at}.content`);
      if (inner) return inner;
    }
    const issue = deepField(b, at, b.type === 'tool_result' ? 'content' : undefined);
    if (issue) return issue;
  }
  return undefined;
}

/** The first field of an object (but `skip`, checked as blocks) holding JSON nested too deep. */
function deepField(obj: object, path: string, skip?: string): MessagesIssue | undefined {
  for (const key in obj) if (key !== skip && nestedDeeperThan((obj as Record<string, unknown>)[key])) return { path: `${path}.${key}`, message: TOO_DEEP };
  return undefined;
}

/** Every tool_result answers a tool_use of the message right before (Anthropic: "unexpected `tool_use_id` found in `tool_result` blocks"). */
function toolResultsIssue(messages: readonly MessageParam[], i: number): MessagesIssue | undefined {
  const content = messages[i].content as ContentBlockParam[];
  let calls: Set<unknown> | undefined;
  for (let j = 0; j < content.length; j++) {
    const b = content[j];
    if (b.type !== 'tool_result') continue;
    calls ??= toolUseIds(messages[i - 1]);
    if (!calls.has(b.tool_use_id)) {
      return {
        path: `messages.${i}.content.${j}`,
        message: `unexpected tool_use_id found in tool_result blocks: ${echo(String(b.tool_use_id))}. Each tool_result block must have a corresponding tool_use block in the previous message.`,
      };
    }
  }
  return undefined;
}

/** Every tool_use of an assistant message with a message after it is answered there (Anthropic: "`tool_use` ids were found without `tool_result` blocks immediately after"). */
function unansweredToolUse(messages: readonly MessageParam[], i: number): MessagesIssue | undefined {
  const content = messages[i].content;
  if (messages[i].role !== 'assistant' || typeof content === 'string') return undefined;
  let results: Set<unknown> | undefined;
  for (let j = 0; j < content.length; j++) {
    const b = content[j];
    if (b.type !== 'tool_use') continue;
    results ??= toolResultIds(messages[i + 1]);
    if (!results.has(b.id)) {
      return {
        path: `messages.${i}.content.${j}`,
        message: `tool_use ids were found without tool_result blocks immediately after: ${echo(String(b.id))}. Each tool_use block must have a corresponding tool_result block in the next message.`,
      };
    }
  }
  return undefined;
}

function toolResultIds(m: MessageParam): Set<unknown> {
  const ids = new Set<unknown>();
  if (typeof m.content === 'string') return ids;
  for (const b of m.content) if (b.type === 'tool_result') ids.add(b.tool_use_id);
  return ids;
}

function toolUseIds(m: MessageParam | undefined): Set<unknown> {
  const ids = new Set<unknown>();
  if (m?.role !== 'assistant' || typeof m.content === 'string') return ids;
  for (const b of m.content) if (b.type === 'tool_use') ids.add(b.id);
  return ids;
}
