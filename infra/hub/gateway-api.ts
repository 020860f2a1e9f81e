/**
 * The single entry point: an API Gateway REST API (usage plans, API keys and WAF exist
 * only on REST APIs) proxying the client routes (/v1/*, POST /inference) to the Lambda
 * alias with response streaming; the gateway's operator pages are not on it.
 * Each app team gets a usage plan (throttle and quota) and an API key; a WAF rate rule
 * backs the plans, whose limits AWS applies only on a best-effort basis.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { HubConfig } from '../config-schema';
import { serviceTrustPolicy } from '../lib/iam';
import { gatewayErrorResponses } from './gateway-errors';

export interface GatewayApiArgs {
  api: HubConfig['api'];
  alias: aws.lambda.Alias;
  functionName: pulumi.Input<string>;
  /** Integration timeout: streams may run this long (15 min at most). */
  timeoutMs: number;
  kmsKey: aws.kms.Key;
  region: string;
  partition: string;
}

export class GatewayApi extends pulumi.ComponentResource {
  readonly restApi: aws.apigateway.RestApi;
  readonly stage: aws.apigateway.Stage;
  readonly url: pulumi.Output<string>;
  /** With a custom domain: the regional endpoint its alias record points at. */
  readonly domainTarget?: pulumi.Output<string>;
  readonly usagePlanIds: Record<string, pulumi.Output<string>> = {};
  readonly apiKeyIds: Record<string, pulumi.Output<string>> = {};

  constructor(name: string, args: GatewayApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:hub:GatewayApi', name, {}, opts);
    const parent = { parent: this };
    const { api } = args;
    const logging = this.enableAccountLogging(name, args.partition);

    this.restApi = new aws.apigateway.RestApi(
      `${name}-api`,
      {
        description: 'ai-gateway: OpenAI-compatible entry point',
        endpointConfiguration: { types: 'REGIONAL' },
        apiKeySource: 'HEADER',
        // With a custom domain, clients must come through it (and its TLS 1.2 policy).
        disableExecuteApiEndpoint: api.domain !== undefined,
      },
      parent,
    );
    const authorizer =
      api.cognitoUserPoolArns.length > 0
        ? new aws.apigateway.Authorizer(
            `${name}-cognito`,
            { restApi: this.restApi.id, type: 'COGNITO_USER_POOLS', providerArns: api.cognitoUserPoolArns, identitySource: 'method.request.header.Authorization' },
            parent,
          )
        : undefined;
    // Only the routes clients use reach the Lambda: the OpenAI-compatible API under /v1 and
    // POST /inference. Operator pages (/status, /metrics) and /healthz are not on the API.
    const v1 = new aws.apigateway.Resource(`${name}-v1`, { restApi: this.restApi.id, parentId: this.restApi.rootResourceId, pathPart: 'v1' }, parent);
    const routes = [
      { key: 'v1', resource: new aws.apigateway.Resource(`${name}-v1-proxy`, { restApi: this.restApi.id, parentId: v1.id, pathPart: '{proxy+}' }, parent), httpMethod: 'ANY' },
      {
        key: 'inference',
        resource: new aws.apigateway.Resource(`${name}-inference`, { restApi: this.restApi.id, parentId: this.restApi.rootResourceId, pathPart: 'inference' }, parent),
        httpMethod: 'POST',
      },
    ];
    const wired = routes.map(({ key, resource, httpMethod }) => {
      const method = new aws.apigateway.Method(
        `${name}-${key}-${httpMethod.toLowerCase()}`,
        {
          restApi: this.restApi.id,
          resourceId: resource.id,
          httpMethod,
          authorization: authorizer ? 'COGNITO_USER_POOLS' : 'NONE',
          authorizerId: authorizer?.id,
          apiKeyRequired: true,
        },
        parent,
      );
      const integration = new aws.apigateway.Integration(
        `${name}-${key}-lambda`,
        {
          restApi: this.restApi.id,
          resourceId: resource.id,
          httpMethod: method.httpMethod,
          type: 'AWS_PROXY',
          integrationHttpMethod: 'POST',
          // The alias (with provisioned concurrency), through the streaming invocation path.
          uri: pulumi.interpolate`arn:${args.partition}:apigateway:${args.region}:lambda:path/2021-11-15/functions/${args.alias.arn}/response-streaming-invocations`,
          responseTransferMode: 'STREAM',
          timeoutMilliseconds: args.timeoutMs,
        },
        parent,
      );
      return { method, integration };
    });
    const errors = gatewayErrorResponses(name, this.restApi.id, parent);
    new aws.lambda.Permission(
      `${name}-invoke`,
      {
        action: 'lambda:InvokeFunction',
        function: args.functionName,
        qualifier: args.alias.name,
        principal: 'apigateway.amazonaws.com',
        sourceArn: pulumi.interpolate`${this.restApi.executionArn}/*/*`,
      },
      parent,
    );

    const deployment = new aws.apigateway.Deployment(
      `${name}-deployment`,
      {
        restApi: this.restApi.id,
        // A new deployment whenever a route, method, integration or gateway response changes.
        triggers: {
          redeployment: pulumi.jsonStringify([
            ...wired.map(({ method, integration }) => [method.id, method.authorization, integration.id, integration.uri, integration.timeoutMilliseconds]),
            ...errors.map((r) => [r.id, r.responseTemplates]),
          ]),
        },
      },
      { parent: this, dependsOn: [...wired.flatMap(({ method, integration }) => [method, integration]), ...errors] },
    );
    const accessLogs = new aws.cloudwatch.LogGroup(`${name}-access-logs`, { retentionInDays: 90, kmsKeyId: args.kmsKey.arn }, parent);
    this.stage = new aws.apigateway.Stage(
      `${name}-stage`,
      {
        restApi: this.restApi.id,
        deployment: deployment.id,
        stageName: api.stageName,
        xrayTracingEnabled: true,
        accessLogSettings: { destinationArn: accessLogs.arn, format: JSON.stringify(ACCESS_LOG_FORMAT) },
      },
      { parent: this, dependsOn: [logging] },
    );
    // Execution logging (loggingLevel below) writes to this group; left to API Gateway, it would
    // create it itself, unencrypted and kept forever. Declared first, so the service finds it.
    const executionLogs = new aws.cloudwatch.LogGroup(
      `${name}-execution-logs`,
      { name: apiExecutionLogGroupName(this.restApi.id, api.stageName), retentionInDays: 90, kmsKeyId: args.kmsKey.arn },
      parent,
    );
    new aws.apigateway.MethodSettings(
      `${name}-settings`,
      {
        restApi: this.restApi.id,
        stageName: this.stage.stageName,
        methodPath: '*/*',
        settings: { metricsEnabled: true, loggingLevel: 'ERROR', dataTraceEnabled: false, throttlingBurstLimit: api.throttle.burstLimit, throttlingRateLimit: api.throttle.rateLimit },
      },
      { parent: this, dependsOn: [executionLogs] },
    );

    for (const team of api.teams) {
      const plan = new aws.apigateway.UsagePlan(
        `${name}-plan-${team.name}`,
        {
          description: `ai-gateway app team ${team.name}`,
          apiStages: [{ apiId: this.restApi.id, stage: this.stage.stageName }],
          throttleSettings: { burstLimit: team.throttle.burstLimit, rateLimit: team.throttle.rateLimit },
          quotaSettings: { limit: team.quota.limit, period: team.quota.period },
        },
        parent,
      );
      const key = new aws.apigateway.ApiKey(`${name}-key-${team.name}`, { description: `ai-gateway app team ${team.name}`, enabled: true }, parent);
      new aws.apigateway.UsagePlanKey(`${name}-key-${team.name}`, { keyId: key.id, keyType: 'API_KEY', usagePlanId: plan.id }, parent);
      this.usagePlanIds[team.name] = plan.id;
      this.apiKeyIds[team.name] = key.id;
    }

    this.protectWithWaf(name, api.wafRateLimitPer5Minutes);
    if (api.domain) {
      const { url, target } = this.mapDomain(name, api.domain);
      this.url = url;
      this.domainTarget = target;
    } else {
      this.url = this.stage.invokeUrl;
    }
    this.registerOutputs({ url: this.url, usagePlanIds: this.usagePlanIds, apiKeyIds: this.apiKeyIds });
  }

  /** API Gateway writes stage logs through one account-wide role. */
  private enableAccountLogging(name: string, partition: string): aws.apigateway.Account {
    const parent = { parent: this };
    const role = new aws.iam.Role(`${name}-cloudwatch`, { assumeRolePolicy: serviceTrustPolicy('apigateway.amazonaws.com') }, parent);
    const attachment = new aws.iam.RolePolicyAttachment(
      `${name}-cloudwatch`,
      { role: role.name, policyArn: `arn:${partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs` },
      parent,
    );
    return new aws.apigateway.Account(`${name}-account`, { cloudwatchRoleArn: role.arn }, { parent: this, dependsOn: [attachment] });
  }

  private protectWithWaf(name: string, ratePer5Minutes: number): void {
    const visibility = (metricName: string) => ({ cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName });
    const acl = new aws.wafv2.WebAcl(
      `${name}-waf`,
      {
        scope: 'REGIONAL',
        description: 'ai-gateway: per-client rate limit in front of the usage plans',
        defaultAction: { allow: {} },
        rules: [
          {
            name: 'rate-per-ip',
            priority: 0,
            action: { block: {} },
            statement: { rateBasedStatement: { limit: ratePer5Minutes, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
            visibilityConfig: visibility('ai-gateway-rate-per-ip'),
          },
          {
            name: 'aws-ip-reputation',
            priority: 1,
            overrideAction: { none: {} },
            statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: 'AWSManagedRulesAmazonIpReputationList' } },
            visibilityConfig: visibility('ai-gateway-ip-reputation'),
          },
        ],
        visibilityConfig: visibility('ai-gateway-waf'),
      },
      { parent: this },
    );
    new aws.wafv2.WebAclAssociation(`${name}-waf`, { resourceArn: this.stage.arn, webAclArn: acl.arn }, { parent: this });
  }

  /** The custom domain, its base path mapping and its alias record: the URL is the record's name, so it resolves. */
  private mapDomain(name: string, domain: NonNullable<HubConfig['api']['domain']>): { url: pulumi.Output<string>; target: pulumi.Output<string> } {
    const custom = new aws.apigateway.DomainName(
      `${name}-domain`,
      { domainName: domain.name, regionalCertificateArn: domain.certificateArn, endpointConfiguration: { types: 'REGIONAL' }, securityPolicy: 'TLS_1_2' },
      { parent: this },
    );
    const mapping = new aws.apigateway.BasePathMapping(`${name}-domain`, { restApi: this.restApi.id, stageName: this.stage.stageName, domainName: custom.domainName }, { parent: this });
    const record = new aws.route53.Record(
      `${name}-domain`,
      {
        zoneId: domain.hostedZoneId,
        name: custom.domainName,
        type: 'A',
        aliases: [{ name: custom.regionalDomainName, zoneId: custom.regionalZoneId, evaluateTargetHealth: false }],
      },
      { parent: this, dependsOn: [mapping], deleteBeforeReplace: true },
    );
    return { url: pulumi.interpolate`https://${record.name}`, target: custom.regionalDomainName };
  }
}

/** The log group API Gateway writes a stage's execution logs to (a fixed name it chooses). */
export function apiExecutionLogGroupName(restApiId: pulumi.Input<string>, stageName: string): pulumi.Output<string> {
  return pulumi.interpolate`API-Gateway-Execution-Logs_${restApiId}/${stageName}`;
}

/** One JSON line per request; API keys and bodies are never logged. */
const ACCESS_LOG_FORMAT = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  apiKeyId: '$context.identity.apiKeyId',
  method: '$context.httpMethod',
  path: '$context.path',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  wafStatus: '$context.waf.status',
};
