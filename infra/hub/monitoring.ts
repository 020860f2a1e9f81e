/**
 * Alarms that page (Lambda errors and throttles, provisioned-concurrency spillover, API
 * 5xx, provider hubs with unhealthy spokes, and the proxy runtime's own error rate,
 * failover rate, p99 latency and time to first token) to a KMS-encrypted SNS topic, and
 * one dashboard with the same signals plus the runtime metrics of every service.
 * Spokes declare their own runtime alarms in this account (spoke/spoke-stack).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ProviderKind, RuntimeAlarmsConfig } from '../config-schema';
import { RuntimeAlarms } from '../lib/runtime-alarms';
import { runtimeWidgets } from './runtime-widgets';

export interface MonitoredNlb {
  kind: ProviderKind;
  loadBalancerArnSuffix: pulumi.Input<string>;
  targetGroupArnSuffix: pulumi.Input<string>;
}

export interface MonitoringArgs {
  functionName: pulumi.Input<string>;
  aliasName: string;
  apiName: pulumi.Input<string>;
  stageName: pulumi.Input<string>;
  nlbs: MonitoredNlb[];
  kmsKey: aws.kms.Key;
  email?: string;
  region: string;
  /** The proxy runtime's `Service` metric dimension. */
  proxyService: string;
  runtimeAlarms: RuntimeAlarmsConfig;
}

type Dimensions = Record<string, pulumi.Input<string>>;

export class Monitoring extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly dashboard: aws.cloudwatch.Dashboard;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:hub:Monitoring', name, {}, opts);
    const parent = { parent: this };
    this.topic = new aws.sns.Topic(`${name}-alarms`, { kmsMasterKeyId: args.kmsKey.id }, parent);
    if (args.email) new aws.sns.TopicSubscription(`${name}-email`, { topic: this.topic.arn, protocol: 'email', endpoint: args.email }, parent);

    const lambda: Dimensions = { FunctionName: args.functionName, Resource: pulumi.interpolate`${args.functionName}:${args.aliasName}` };
    const api: Dimensions = { ApiName: args.apiName, Stage: args.stageName };
    this.alarm(name, 'lambda-errors', 'AWS/Lambda', 'Errors', lambda, 'Sum', 5, 'the Lambda proxy fails');
    this.alarm(name, 'lambda-throttles', 'AWS/Lambda', 'Throttles', lambda, 'Sum', 1, 'the Lambda proxy is throttled');
    this.alarm(name, 'lambda-spillover', 'AWS/Lambda', 'ProvisionedConcurrencySpilloverInvocations', lambda, 'Sum', 1, 'requests exceed provisioned concurrency (cold starts)');
    this.alarm(name, 'api-5xx', 'AWS/ApiGateway', '5XXError', api, 'Sum', 5, 'the API answers 5xx');
    for (const nlb of args.nlbs) {
      const dims: Dimensions = { LoadBalancer: nlb.loadBalancerArnSuffix, TargetGroup: nlb.targetGroupArnSuffix };
      this.alarm(name, `${nlb.kind}-unhealthy`, 'AWS/NetworkELB', 'UnHealthyHostCount', dims, 'Maximum', 1, `a ${nlb.kind} spoke fails its /healthz checks`);
    }

    new RuntimeAlarms(`${name}-proxy`, { service: args.proxyService, thresholds: args.runtimeAlarms, topicArn: this.topic.arn }, parent);

    const metric = (ns: string, metricName: string, dims: Dimensions, stat: string) => pulumi.output(dims).apply((d) => [ns, metricName, ...Object.entries(d).flat(), { stat }]);
    const widget = (title: string, metrics: pulumi.Output<unknown[]>[]) => ({
      type: 'metric',
      width: 12,
      height: 6,
      properties: { title, region: args.region, period: 60, view: 'timeSeries', metrics },
    });
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: 'ai-gateway',
        dashboardBody: pulumi.jsonStringify({
          widgets: [
            widget('API requests and errors', [
              metric('AWS/ApiGateway', 'Count', api, 'Sum'),
              metric('AWS/ApiGateway', '4XXError', api, 'Sum'),
              metric('AWS/ApiGateway', '5XXError', api, 'Sum'),
            ]),
            widget('API latency (p99)', [metric('AWS/ApiGateway', 'Latency', api, 'p99'), metric('AWS/ApiGateway', 'IntegrationLatency', api, 'p99')]),
            widget('Lambda proxy', [
              metric('AWS/Lambda', 'Invocations', lambda, 'Sum'),
              metric('AWS/Lambda', 'Errors', lambda, 'Sum'),
              metric('AWS/Lambda', 'Throttles', lambda, 'Sum'),
              metric('AWS/Lambda', 'ProvisionedConcurrencyUtilization', lambda, 'Maximum'),
            ]),
            widget(
              'Healthy spokes per provider hub',
              args.nlbs.map((n) => metric('AWS/NetworkELB', 'HealthyHostCount', { LoadBalancer: n.loadBalancerArnSuffix, TargetGroup: n.targetGroupArnSuffix }, 'Minimum')),
            ),
            ...runtimeWidgets({ region: args.region, proxyService: args.proxyService, thresholds: args.runtimeAlarms }),
          ],
        }),
      },
      parent,
    );
    this.registerOutputs({ topicArn: this.topic.arn, dashboardName: this.dashboard.dashboardName });
  }

  private alarm(name: string, id: string, namespace: string, metricName: string, dimensions: Dimensions, statistic: string, threshold: number, what: string): void {
    new aws.cloudwatch.MetricAlarm(
      `${name}-${id}`,
      {
        alarmDescription: `ai-gateway: ${what}`,
        namespace,
        metricName,
        dimensions,
        statistic,
        period: 60,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        threshold,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        treatMissingData: 'notBreaching',
        alarmActions: [this.topic.arn],
        okActions: [this.topic.arn],
      },
      { parent: this },
    );
  }
}
