/** The request bodies fakes record, typed as far as the image and structured-output tests read them. */
export interface ConverseWire {
  messages: Array<{ role: string; content: Array<{ text?: string; image?: { format: string; source: { bytes: string } } }> }>;
  toolConfig?: {
    tools: Array<{ toolSpec: { name: string; inputSchema: { json: unknown } } }>;
    toolChoice?: { tool?: { name: string }; any?: object };
  };
  outputConfig?: { textFormat: { type: string; structure: { jsonSchema: { schema: string; name?: string } } } };
}

export interface AnthropicWire {
  messages: Array<{ role: string; content: unknown[] }>;
}

export interface OpenAIWire {
  messages: Array<{ role: string; content: unknown }>;
  response_format?: unknown;
}

/** The body of a recorded request, as the wire type the test reads it as. */
export function bodyOf<T>(recorded: { body: unknown } | undefined): T {
  if (!recorded) throw new Error('no request was recorded');
  return recorded.body as T;
}
