/**
 * API Gateway's own answers, for requests the Lambda never sees (no or a wrong API key, a
 * team's throttle or quota, the WAF, an unknown path, a body past 10 MB, an integration
 * failure): in the OpenAI error shape the contract promises for every error, not API
 * Gateway's `{"message": "Forbidden"}`, with the request id the Lambda's answers carry.
 */
import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';

interface GatewayError {
  type: string;
  code: string;
  /** Fixed text (no `$` or `#`: the template is VTL); else API Gateway's own message. */
  message?: string;
}

/** By gateway response type; DEFAULT_4XX and DEFAULT_5XX cover every type not listed. */
export const GATEWAY_ERRORS: Readonly<Record<string, GatewayError>> = {
  DEFAULT_4XX: { type: 'invalid_request_error', code: 'api_gateway_refused' },
  DEFAULT_5XX: { type: 'api_error', code: 'api_gateway_error' },
  INVALID_API_KEY: { type: 'authentication_error', code: 'invalid_api_key', message: "Missing or invalid API key: send your team's key in the x-api-key header." },
  MISSING_AUTHENTICATION_TOKEN: {
    type: 'invalid_request_error',
    code: 'unknown_url',
    message: 'No such route on this API: it serves /v1/... (chat completions, embeddings, messages, models) and POST /inference.',
  },
  THROTTLED: { type: 'rate_limit_error', code: 'usage_plan_throttled', message: "Over the request rate of this API key's usage plan; retry shortly." },
  QUOTA_EXCEEDED: { type: 'rate_limit_error', code: 'usage_plan_quota_exceeded', message: "This API key's usage plan quota is used up for its period." },
  WAF_FILTERED: { type: 'permission_error', code: 'request_blocked', message: "Blocked by the API's web application firewall (requests per client address, or address reputation)." },
  REQUEST_TOO_LARGE: {
    type: 'invalid_request_error',
    code: 'request_too_large',
    message: "The request is over API Gateway's limit of 10 MB; bodies reaching the gateway stop a little under 6 MB (the Lambda payload limit).",
  },
  INTEGRATION_TIMEOUT: { type: 'timeout_error', code: 'deadline_exceeded' },
};

/** The JSON template: the message fixed, or API Gateway's own (`messageString` is already a quoted JSON string). */
export function gatewayErrorTemplate(e: GatewayError): string {
  const placeholder = '@@message@@';
  const body = JSON.stringify({ error: { message: e.message ?? placeholder, type: e.type, code: e.code, param: null } });
  return e.message === undefined ? body.replace(`"${placeholder}"`, '$context.error.messageString') : body;
}

/** One gateway response per type above; a change needs a new deployment (`responses` go into its triggers). */
export function gatewayErrorResponses(name: string, restApi: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): aws.apigateway.Response[] {
  return Object.entries(GATEWAY_ERRORS).map(
    ([responseType, e]) =>
      new aws.apigateway.Response(
        `${name}-${responseType.toLowerCase().replace(/_/g, '-')}`,
        {
          restApiId: restApi,
          responseType,
          responseTemplates: { 'application/json': gatewayErrorTemplate(e) },
          responseParameters: { 'gatewayresponse.header.x-request-id': 'context.requestId' },
        },
        opts,
      ),
  );
}
