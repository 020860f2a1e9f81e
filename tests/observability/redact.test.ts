/** The free-text scrubber: credentials of every common shape go, diagnosis stays. */
import { scrubSecrets } from '../../runtime/src/core/redact';
import { scrubError } from '../../runtime/src/observability/redact';

describe('scrubSecrets', () => {
  it.each([
    ['an OpenAI key', 'Incorrect API key provided: sk-proj-Abcdefghijklmnop1234', 'sk-proj-Abcdefghijklmnop1234'],
    ['an Anthropic key', 'invalid x-api-key sk-ant-api03-AbCdEf123456', 'sk-ant-api03-AbCdEf123456'],
    ['a masked key', 'Incorrect API key provided: sk-proj-********************wxyz.', '****'],
    ['a bearer token', 'sent Authorization: Bearer abc.def.ghi', 'abc.def.ghi'],
    ['basic credentials', 'proxy said Basic dXNlcjpwYXNzd29yZA==', 'dXNlcjpwYXNzd29yZA=='],
    ['an x-api-key header value', 'header x-api-key: 0123456789abcdef rejected', '0123456789abcdef'],
    ['an api_key query parameter', 'GET /v1/models?api_key=plainvalue42&x=1', 'plainvalue42'],
    ['a JSON secret field', '{"client_secret":"hunter2hunter2"}', 'hunter2hunter2'],
    ['an AWS access key id', 'The security token for AKIAIOSFODNN7EXAMPLE is invalid', 'AKIAIOSFODNN7EXAMPLE'],
    ['a temporary AWS key id', 'ASIAY34FZKBOKMUTVV7A expired', 'ASIAY34FZKBOKMUTVV7A'],
    ['an AWS secret key', 'secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY leaked', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ['a JWT', 'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcDEF123 refused', 'eyJhbGciOiJIUzI1NiJ9'],
    ['a Google key', 'key AIzaSyA1234567890abcdefghijklmnopqrstu bad', 'AIzaSyA1234567890abcdefghijklmnopqrstu'],
    ['a password', 'login failed: password=correct-horse', 'correct-horse'],
  ])('removes %s', (_, text, secret) => {
    const out = scrubSecrets(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });

  it.each([
    'throttled by provider (429 rate_limit_exceeded): Rate limit reached for gpt-4o-mini in organization org-x',
    'upstream error (503): anthropic.claude-3-5-sonnet-20240620-v1:0 is overloaded',
    'request 0b8e3c1a-6f0e-4f4b-9a57-2f0c3d8e9a11 to bedrock/acct-1/us-east-1/claude-sonnet-20240620-v1 failed',
    'digest sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    'no answer within 30000 ms',
  ])('keeps ordinary diagnostics unchanged: %s', (text) => {
    expect(scrubSecrets(text)).toBe(text);
  });

  it('scrubs error messages and stacks', () => {
    const e = new Error('failed with sk-live-0123456789abcdef');
    const out = scrubError(e);
    expect(out.type).toBe('Error');
    expect(out.message).toBe('failed with [redacted]');
    expect(out.stack).not.toContain('sk-live-0123456789abcdef');
    expect(scrubError('AKIAIOSFODNN7EXAMPLE')).toEqual({ type: 'string', message: '[redacted]' });
  });
});
