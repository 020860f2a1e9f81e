import {
  AccessDeniedException,
  InternalServerException,
  ModelErrorException,
  ModelNotReadyException,
  ModelStreamErrorException,
  ModelTimeoutException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import { ProviderError } from '../errors';
import { classifyBedrockError } from './classify';

const meta = (httpStatusCode?: number) => ({ httpStatusCode, attempts: 1, totalRetryDelay: 0 });

describe('classifyBedrockError', () => {
  it.each([
    ['ThrottlingException', new ThrottlingException({ message: 'Too many requests', $metadata: meta(429) }), 'throttled', 429],
    ['ServiceQuotaExceededException', new ServiceQuotaExceededException({ message: 'quota', $metadata: meta(400) }), 'quota_exhausted', 400],
    ['ModelNotReadyException (a 429 that is not throttling)', new ModelNotReadyException({ message: 'not ready', $metadata: meta(429) }), 'transient', 429],
    ['InternalServerException', new InternalServerException({ message: 'boom', $metadata: meta(500) }), 'transient', 500],
    ['ServiceUnavailableException', new ServiceUnavailableException({ message: 'busy', $metadata: meta(503) }), 'transient', 503],
    ['ModelErrorException', new ModelErrorException({ message: 'model error', $metadata: meta(424) }), 'transient', 424],
    ['ModelTimeoutException', new ModelTimeoutException({ message: 'timeout', $metadata: meta(408) }), 'transient', 408],
    ['ModelStreamErrorException', new ModelStreamErrorException({ message: 'stream', $metadata: meta() }), 'transient', 424],
    ['AccessDeniedException', new AccessDeniedException({ message: "You don't have access", $metadata: meta(403) }), 'refused', 403],
    ['ResourceNotFoundException', new ResourceNotFoundException({ message: 'no such model', $metadata: meta(404) }), 'refused', 404],
    ['ValidationException', new ValidationException({ message: 'Malformed input request', $metadata: meta(400) }), 'refused', 400],
  ])('%s', (_, err, failure, status) => {
    const out = classifyBedrockError(err);
    expect(out).toBeInstanceOf(ProviderError);
    expect(out.failure).toBe(failure);
    expect(out.status).toBe(status);
    expect(out.code).toBe(err.name);
  });

  it.each([
    'Input is too long for requested model.',
    'The model returned the following errors: prompt is too long: 205000 tokens > 200000 maximum',
    "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
  ])('a ValidationException about the prompt size is context_length: %s', (message) => {
    const out = classifyBedrockError(new ValidationException({ message, $metadata: meta(400) }));
    expect(out.failure).toBe('context_length');
    expect(out.message).toBe(message);
  });

  it("keeps the provider's own words for refusals", () => {
    const message = 'The text field in the ContentBlock object at messages.0.content.0 is blank.';
    expect(classifyBedrockError(new ValidationException({ message, $metadata: meta(400) })).message).toBe(message);
  });

  it('reads Retry-After from the HTTP response when the SDK exposes it', () => {
    const err = Object.assign(new ThrottlingException({ message: 'slow down', $metadata: meta(429) }), {
      $response: { statusCode: 429, headers: { 'retry-after': '3' } },
    });
    expect(classifyBedrockError(err).retryAfterMs).toBe(3000);
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'])('network error %s is transient', (code) => {
    const out = classifyBedrockError(Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code }));
    expect(out.failure).toBe('transient');
    expect(out.code).toBe(code);
  });

  it('an answer the SDK could not parse is transient, without the SDK hint in the message', () => {
    const err = Object.assign(
      new SyntaxError('Unexpected token \'<\', "<html>" is not valid JSON\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.'),
      { $metadata: meta(200) },
    );
    const out = classifyBedrockError(err);
    expect(out.failure).toBe('transient');
    expect(out.code).toBe('unparseable');
    expect(out.message).not.toMatch(/Deserialization error/);
  });

  it('falls back on the status for exception names it does not know', () => {
    const named = (name: string, status: number) => Object.assign(new Error('x'), { name, $metadata: meta(status) });
    expect(classifyBedrockError(named('UnrecognizedClientException', 403)).failure).toBe('refused');
    expect(classifyBedrockError(named('SomethingNewException', 502)).failure).toBe('transient');
    expect(classifyBedrockError(named('SomethingNewException', 429)).failure).toBe('throttled');
    expect(classifyBedrockError(named('SomethingNewException', 400)).failure).toBe('refused');
  });

  it('passes ProviderErrors through unchanged', () => {
    const err = new ProviderError('silent', 'no first byte');
    expect(classifyBedrockError(err)).toBe(err);
  });
});
