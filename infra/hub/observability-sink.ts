/**
 * The hub account as the CloudWatch cross-account observability monitoring account: an
 * OAM sink that the registered spoke accounts link to, sharing their runtime metrics only, so the
 * hub's dashboard and the spokes' alarms (declared in the hub) can read them.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { accountRoot, policyJson, type SpokeGrantee } from '../lib/iam';

export interface ObservabilitySinkArgs {
  /** Registered spokes: their accounts may link metrics. */
  spokes: readonly SpokeGrantee[];
  partition: string;
}

export const SHARED_RESOURCE_TYPES = ['AWS::CloudWatch::Metric'];

export class ObservabilitySink extends pulumi.ComponentResource {
  readonly sink: aws.oam.Sink;

  constructor(name: string, args: ObservabilitySinkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:hub:ObservabilitySink', name, {}, opts);
    // One sink per account and Region, by name: a replacement must delete the old one first.
    this.sink = new aws.oam.Sink(`${name}-sink`, { name: 'ai-gateway' }, { parent: this, deleteBeforeReplace: true });
    if (args.spokes.length > 0) {
      new aws.oam.SinkPolicy(
        `${name}-sink`,
        {
          sinkIdentifier: this.sink.arn,
          policy: policyJson([
            {
              Sid: 'SpokesShareMetrics',
              Effect: 'Allow',
              Principal: { AWS: args.spokes.map((s) => accountRoot(args.partition, s.accountId)) },
              Action: ['oam:CreateLink', 'oam:UpdateLink'],
              Resource: '*',
              // Metrics only: the runtime's logs stay in the spoke accounts.
              Condition: { 'ForAllValues:StringEquals': { 'oam:ResourceTypes': SHARED_RESOURCE_TYPES } },
            },
          ]),
        },
        { parent: this },
      );
    }
    this.registerOutputs({ sinkArn: this.sink.arn });
  }
}
