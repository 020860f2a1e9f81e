import { withoutCredentials } from '../upstream-call';
import { classifyOpenAIError, classifyOpenAIStreamError } from './classify';

/** An OpenAI error body as the API writes it. */
const body = (message: string, type: string | null, code: string | number | null, param: string | null = null) => JSON.stringify({ error: { message, type, param, code } });

describe('classifyOpenAIError: throttling and quota', () => {
  test('429 rate_limit_exceeded is throttled and honours retry-after', () => {
    const err = classifyOpenAIError(429, body('Rate limit reached for gpt-4o-mini on requests per min (RPM)', 'requests', 'rate_limit_exceeded'), {
      'retry-after': '2',
    });
    expect(err.failure).toBe('throttled');
    expect(err.retryAfterMs).toBe(2000);
    expect(err.status).toBe(429);
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.message).toContain('Rate limit reached');
  });

  test("a 429 keeps what its rate-limit headers said (even with an unreadable body); other statuses' headers are not a refusal", () => {
    const headers = { 'x-ratelimit-remaining-requests': '40', 'x-ratelimit-remaining-tokens': '500', 'x-ratelimit-reset-tokens': '20s' };
    const left = { remainingRequests: 40, remainingTokens: 500, resetTokensMs: 20_000 };
    expect(classifyOpenAIError(429, body('Rate limit reached on tokens per min (TPM)', 'tokens', 'rate_limit_exceeded'), headers).rateLimit).toEqual(left);
    expect(classifyOpenAIError(429, '<html>Too Many Requests</html>', headers).rateLimit).toEqual(left);
    expect(classifyOpenAIError(503, body('overloaded', 'server_error', null), headers).rateLimit).toBeUndefined();
  });

  test('retry-after-ms wins over retry-after', () => {
    const err = classifyOpenAIError(429, body('slow down', 'requests', 'rate_limit_exceeded'), { 'retry-after-ms': '250.4', 'retry-after': '9' });
    expect(err.retryAfterMs).toBe(251);
  });

  test('without retry-after, the reset of the exhausted limit is used', () => {
    const headers = {
      'x-ratelimit-remaining-requests': '120',
      'x-ratelimit-reset-requests': '12ms',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '6m0s',
    };
    expect(classifyOpenAIError(429, body('Rate limit reached on tokens per min', 'tokens', 'rate_limit_exceeded'), headers).retryAfterMs).toBe(360_000);
  });

  test('without any header, "Please try again in 20s" in the message is used', () => {
    const err = classifyOpenAIError(429, body('Rate limit reached. Please try again in 20s. Visit ...', 'requests', 'rate_limit_exceeded'));
    expect(err.retryAfterMs).toBe(20_000);
  });

  test('429 insufficient_quota is quota_exhausted, by code or by type', () => {
    const msg = 'You exceeded your current quota, please check your plan and billing details.';
    expect(classifyOpenAIError(429, body(msg, 'insufficient_quota', 'insufficient_quota')).failure).toBe('quota_exhausted');
    expect(classifyOpenAIError(429, body(msg, 'insufficient_quota', null)).failure).toBe('quota_exhausted');
  });

  test('402 (DeepSeek insufficient balance) is quota_exhausted', () => {
    const err = classifyOpenAIError(402, body('Insufficient Balance', 'unknown_error', 'invalid_request_error'));
    expect(err.failure).toBe('quota_exhausted');
    expect(err.message).toContain('Insufficient Balance');
  });

  test('a 429 with a non-JSON body is still throttled', () => {
    const err = classifyOpenAIError(429, '<html><body>Too Many Requests</body></html>', { 'retry-after': '3' });
    expect(err.failure).toBe('throttled');
    expect(err.retryAfterMs).toBe(3000);
  });
});

describe('classifyOpenAIError: server-side failures', () => {
  test.each([500, 502, 503, 504, 529, 408])('%i is transient', (status) => {
    const err = classifyOpenAIError(status, body('The server had an error while processing your request.', 'server_error', null));
    expect(err.failure).toBe('transient');
    expect(err.status).toBe(status);
    expect(err.retryable).toBe(true);
  });

  test('503 with retry-after keeps the hint', () => {
    expect(classifyOpenAIError(503, body('overloaded', 'server_error', null), { 'retry-after': '1' }).retryAfterMs).toBe(1000);
  });

  test('an HTML 502 from a proxy is transient and says the body was not JSON', () => {
    const err = classifyOpenAIError(502, '<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>');
    expect(err.failure).toBe('transient');
    expect(err.message).toContain('502');
    expect(err.message).toContain('non-JSON body');
    expect(err.message).toContain('502 Bad Gateway');
    expect(err.message).not.toContain('<html>');
  });

  test('an empty 503 says so', () => {
    expect(classifyOpenAIError(503, '').message).toContain('empty body');
  });
});

describe('classifyOpenAIError: verdicts on the request', () => {
  test('400 context_length_exceeded is context_length with the upstream message', () => {
    const msg = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens.";
    const err = classifyOpenAIError(400, body(msg, 'invalid_request_error', 'context_length_exceeded', 'messages'));
    expect(err.failure).toBe('context_length');
    expect(err.message).toBe(msg);
    expect(err.param).toBe('messages');
    expect(err.retryable).toBe(false);
  });

  test('vLLM: 400 with an integer code and "maximum context length" in the message is context_length', () => {
    const text = JSON.stringify({
      object: 'error',
      message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
      type: 'BadRequestError',
      param: null,
      code: 400,
    });
    const err = classifyOpenAIError(400, text);
    expect(err.failure).toBe('context_length');
    expect(err.code).toBe('BadRequestError');
  });

  test.each(['content_filter', 'content_policy_violation'])('400 %s is refused with the reason', (code) => {
    const err = classifyOpenAIError(400, body('The response was filtered due to the prompt triggering the content policy.', 'invalid_request_error', code, 'prompt'));
    expect(err.failure).toBe('refused');
    expect(err.code).toBe(code);
    expect(err.message).toContain('filtered');
  });

  test.each([
    [400, "Invalid value for 'temperature': expected a number.", 'temperature'],
    [403, 'Project does not have access to model `gpt-5`', null],
    [404, 'The model `gpt-9` does not exist or you do not have access to it.', null],
    [422, 'Invalid Parameters', null],
  ])('%i is refused with the upstream message and status', (status, msg, param) => {
    const err = classifyOpenAIError(status, body(msg, 'invalid_request_error', null, param));
    expect(err.failure).toBe('refused');
    expect(err.status).toBe(status);
    expect(err.message).toBe(msg);
    if (param) expect(err.param).toBe(param);
  });

  test('a non-JSON 4xx is refused with a clear message', () => {
    const err = classifyOpenAIError(404, 'Not Found');
    expect(err.failure).toBe('refused');
    expect(err.message).toBe('upstream answered 404 with a non-JSON body: "Not Found"');
  });

  test('Ollama ({"error":"..."}) and FastAPI ({"detail":"..."}) bodies give their message', () => {
    expect(classifyOpenAIError(404, JSON.stringify({ error: 'model "llama9" not found, try pulling it first' })).message).toContain('llama9');
    expect(classifyOpenAIError(404, JSON.stringify({ detail: 'Not Found' })).message).toBe('Not Found');
  });
});

describe('an OpenAI error, as the upstream call hands it on, never echoes a credential', () => {
  const key = 'sk-proj-Zx81kQ2vLmN0pRsTuVwXyZ1234abcd';

  test('401 quoting a masked key', () => {
    const masked = `${key.slice(0, 8)}${'*'.repeat(20)}${key.slice(-4)}`;
    const err = withoutCredentials(
      classifyOpenAIError(
        401,
        body(`Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key'),
      ),
      key,
    );
    expect(err.failure).toBe('refused');
    expect(err.message).toContain('Incorrect API key provided');
    expect(err.message).not.toContain(key.slice(-4));
    expect(err.message).not.toContain(key.slice(0, 8));
  });

  test('401 quoting the whole key, a bearer header or a DeepSeek-style "api key: ..."', () => {
    const quoted = [`invalid key ${key}`, `Authorization: Bearer ${key} rejected`, 'Authentication Fails, Your api key: ****abcd is invalid', 'bad token Zx81kQ2vLmN0pRsTuVwXyZ1234abcdEF'];
    for (const msg of quoted) {
      const err = withoutCredentials(classifyOpenAIError(401, body(msg, 'authentication_error', null)), key);
      expect(err.message).not.toContain('Zx81kQ2v');
      expect(err.message).not.toContain('abcd');
    }
  });

  test('the secret is removed from any status and from non-JSON bodies', () => {
    const secret = 'plainsecretvalue';
    expect(withoutCredentials(classifyOpenAIError(400, body(`header x-key=${secret} not allowed`, 'invalid_request_error', null)), secret).message).not.toContain(secret);
    expect(withoutCredentials(classifyOpenAIError(403, `<p>forbidden for ${secret}</p>`), secret).message).not.toContain(secret);
  });
});

describe('classifyOpenAIStreamError', () => {
  test('vLLM in-stream error with integer code 500 is transient', () => {
    const err = classifyOpenAIStreamError({ error: { message: 'The engine is overloaded.', type: 'InternalServerError', param: null, code: 500 } });
    expect(err.failure).toBe('transient');
    expect(err.message).toContain('engine is overloaded');
  });

  test('integer code 400 with a context message is context_length', () => {
    const err = classifyOpenAIStreamError({ error: { message: "This model's maximum context length is 4096 tokens.", type: 'BadRequestError', code: 400 } });
    expect(err.failure).toBe('context_length');
  });

  test('string codes are verdicts whatever the status', () => {
    expect(classifyOpenAIStreamError({ error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } }).failure).toBe('throttled');
    expect(classifyOpenAIStreamError({ error: { message: 'no money', type: 'insufficient_quota', code: 'insufficient_quota' } }).failure).toBe('quota_exhausted');
  });

  test('old vLLM top-level error object and an error without details', () => {
    expect(classifyOpenAIStreamError({ object: 'error', message: 'boom', type: 'InternalServerError', code: 503 }).status).toBe(503);
    const bare = classifyOpenAIStreamError({ error: {} });
    expect(bare.failure).toBe('transient');
    expect(bare.message.length).toBeGreaterThan(10);
  });
});
