import { classifyAnthropicError, classifyAnthropicStreamError, classifyGatewayHopError } from './classify';

const body = (type: string, message: string) => JSON.stringify({ type: 'error', error: { type, message } });

describe('classifyAnthropicError', () => {
  it('429 rate_limit_error is throttled, with Retry-After in ms', () => {
    const err = classifyAnthropicError(429, body('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'), {
      'retry-after': '7',
    });
    expect(err).toMatchObject({ failure: 'throttled', status: 429, code: 'rate_limit_error', retryAfterMs: 7000 });
    expect(err.message).toContain('per-minute rate limit');
  });

  it('429 without Retry-After waits for the reset of the exhausted limit', () => {
    const now = Date.now();
    const err = classifyAnthropicError(429, body('rate_limit_error', 'slow down'), {
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': new Date(now + 30_000).toISOString(),
      'anthropic-ratelimit-tokens-remaining': '5000',
      'anthropic-ratelimit-tokens-reset': new Date(now + 90_000).toISOString(),
    });
    expect(err.failure).toBe('throttled');
    // The requests limit is the one at 0: its reset, not the later tokens reset.
    expect(err.retryAfterMs).toBeGreaterThan(25_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it("429 keeps what its rate-limit headers said (Anthropic's own; a spoke's as on chat), so a refusal of one request's size is told apart", () => {
    const said = { 'anthropic-ratelimit-requests-remaining': '40', 'anthropic-ratelimit-tokens-remaining': '500', 'x-ratelimit-remaining-tokens': '700' };
    expect(classifyAnthropicError(429, body('rate_limit_error', 'slow down'), said).rateLimit).toMatchObject({ remainingRequests: 40, remainingTokens: 500 });
    expect(classifyGatewayHopError(429, body('rate_limit_error', 'out of quota'), said).rateLimit).toEqual({ remainingTokens: 700 });
    // Not on other statuses: only a 429 says the limits refused it.
    expect(classifyAnthropicError(529, body('overloaded_error', 'Overloaded'), said).rateLimit).toBeUndefined();
  });

  it.each([
    [529, 'overloaded_error', 'Overloaded'],
    [500, 'api_error', 'Internal server error'],
    [504, 'timeout_error', 'Request timed out'],
  ])('%i %s is transient', (status, type, message) => {
    expect(classifyAnthropicError(status, body(type, message))).toMatchObject({ failure: 'transient', status, code: type, retryable: true });
  });

  it.each([502, 503, 504])('%i with an HTML body from a proxy is transient, saying the body is not JSON', (status) => {
    const err = classifyAnthropicError(status, '<html><body>Bad gateway</body></html>', { 'request-id': 'req_42' });
    expect(err.failure).toBe('transient');
    expect(err.message).toBe(`Anthropic answered ${status} with a body that is not JSON (request-id req_42)`);
  });

  it('a non-JSON body is transient whatever the 4xx status, except a 429 which stays throttled', () => {
    expect(classifyAnthropicError(401, 'Unauthorized').failure).toBe('transient');
    expect(classifyAnthropicError(200, '').message).toContain('an empty body');
    expect(classifyAnthropicError(429, 'Too Many Requests', { 'retry-after': '2' })).toMatchObject({ failure: 'throttled', retryAfterMs: 2000 });
  });

  it.each([
    'prompt is too long: 208310 tokens > 200000 maximum',
    'input length and `max_tokens` exceed context limit: 197202 + 21333 > 200000, decrease input length or `max_tokens` and try again',
  ])('400 invalid_request_error "%s" is context_length', (message) => {
    const err = classifyAnthropicError(400, body('invalid_request_error', message));
    expect(err).toMatchObject({ failure: 'context_length', status: 400, retryable: false });
    expect(err.message).toContain(message);
  });

  it('other 400s are refused with the provider message and status', () => {
    const err = classifyAnthropicError(400, body('invalid_request_error', 'messages.1.content: Input should be a valid list'));
    expect(err).toMatchObject({ failure: 'refused', status: 400, code: 'invalid_request_error' });
    expect(err.message).toContain('messages.1.content: Input should be a valid list');
  });

  it.each([
    [401, 'authentication_error', 'invalid x-api-key'],
    [403, 'permission_error', 'Your API key does not have permission to use the specified resource.'],
    [404, 'not_found_error', 'model: claude-nope'],
    [413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  ])('%i %s is refused', (status, type, message) => {
    const err = classifyAnthropicError(status, body(type, message));
    expect(err).toMatchObject({ failure: 'refused', status, code: type });
    expect(err.message).toContain(message);
  });

  it('billing problems park the account: quota_exhausted', () => {
    expect(classifyAnthropicError(402, body('billing_error', 'Payment required')).failure).toBe('quota_exhausted');
    expect(classifyAnthropicError(400, body('invalid_request_error', 'Your credit balance is too low to access the Anthropic API.')).failure).toBe('quota_exhausted');
  });

  it('an error type it does not know is judged by the status', () => {
    expect(classifyAnthropicError(503, body('brand_new_error', 'x')).failure).toBe('transient');
    expect(classifyAnthropicError(422, body('brand_new_error', 'x')).failure).toBe('refused');
  });
});

describe('classifyGatewayHopError (a spoke gateway, Anthropic shape with its own code)', () => {
  const gatewayBody = (type: string, code: string, message: string) => JSON.stringify({ type: 'error', error: { type, message, details: { error_code: code } }, request_id: 'req_1' });

  it('keeps the spoke’s code: capacity_reserved stays capacity_reserved, with its Retry-After', () => {
    const err = classifyGatewayHopError(429, gatewayBody('rate_limit_error', 'capacity_reserved', 'reserved for higher-priority traffic'), { 'retry-after': '58' });
    expect(err).toMatchObject({ failure: 'throttled', status: 429, code: 'capacity_reserved', retryAfterMs: 58_000 });
    expect(err.message).toContain('reserved for higher-priority traffic');
  });

  it('takes the failure class from codes that say more than the type', () => {
    expect(classifyGatewayHopError(400, gatewayBody('invalid_request_error', 'context_length_exceeded', 'too long'))).toMatchObject({
      failure: 'context_length',
      code: 'context_length_exceeded',
    });
    expect(classifyGatewayHopError(502, gatewayBody('api_error', 'invalid_structured_output', 'no route matched'))).toMatchObject({
      failure: 'invalid_output',
      code: 'invalid_structured_output',
    });
    expect(classifyGatewayHopError(400, gatewayBody('invalid_request_error', 'unsupported_on_target', 'x'))).toMatchObject({ failure: 'refused', code: 'unsupported_on_target' });
  });

  it('keeps the spoke’s words for its verdicts on the request (the client gets them as said), and labels the rest', () => {
    expect(classifyGatewayHopError(400, gatewayBody('invalid_request_error', 'unsupported_parameter', 'foo: Extra inputs are not permitted'), { 'request-id': 'r' })).toMatchObject({
      failure: 'refused',
      status: 400,
      code: 'unsupported_parameter',
      message: 'foo: Extra inputs are not permitted',
    });
    expect(classifyGatewayHopError(502, gatewayBody('api_error', 'upstream_unavailable', 'Every route failed')).message).toBe(
      'Upstream gateway upstream_unavailable (502): Every route failed',
    );
  });

  it('without a gateway code reads like Anthropic; the Anthropic API’s own answers never take one', () => {
    expect(classifyGatewayHopError(529, body('overloaded_error', 'Overloaded'))).toMatchObject({ failure: 'transient', code: 'overloaded_error' });
    expect(classifyAnthropicError(429, gatewayBody('rate_limit_error', 'capacity_reserved', 'r'))).toMatchObject({ failure: 'throttled', code: 'rate_limit_error' });
  });
});

describe('classifyAnthropicStreamError', () => {
  it('classifies by the error type and gives the status Anthropic uses for it', () => {
    expect(classifyAnthropicStreamError({ type: 'overloaded_error', message: 'Overloaded' })).toMatchObject({ failure: 'transient', status: 529 });
    expect(classifyAnthropicStreamError({ type: 'rate_limit_error', message: 'r' })).toMatchObject({ failure: 'throttled', status: 429 });
    expect(classifyAnthropicStreamError(undefined)).toMatchObject({ failure: 'transient' });
  });
});
