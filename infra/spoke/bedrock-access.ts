/**
 * The exact Bedrock resources a spoke's task may invoke: foundation models in each
 * configured Region, and for cross-Region inference profiles the profile in each calling
 * Region plus the model in every Region the profile routes to (a global profile: in each
 * calling Region and Region-less, as AWS authorizes it). Never a wildcard model.
 * Token counting (the runtime's count_tokens on Claude models: CountTokens) is its own
 * IAM action, on foundation models only, in the Regions the runtime calls.
 */
import { isGlobalProfile, type BedrockProvider } from '../config-schema';

export const BEDROCK_INVOKE_ACTIONS = ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'] as const;
/** CountTokens is not covered by InvokeModel; its only resource type is foundation-model. */
export const BEDROCK_COUNT_ACTION = 'bedrock:CountTokens';

export function bedrockInvokeResources(provider: BedrockProvider, accountId: string, partition: string): string[] {
  const arns = new Set<string>();
  const foundationModel = (region: string, id: string) => `arn:${partition}:bedrock:${region}::foundation-model/${id}`;
  for (const model of provider.models) {
    if (model.inferenceProfile) {
      const profile = model.inferenceProfile;
      for (const region of provider.regions) arns.add(`arn:${partition}:bedrock:${region}:${accountId}:inference-profile/${profile.id}`);
      if (isGlobalProfile(profile.id)) {
        // A global profile is authorized on the model in the calling Region and on its Region-less ARN.
        for (const region of provider.regions) arns.add(foundationModel(region, model.id));
        arns.add(foundationModel('', model.id));
      } else {
        for (const region of profile.regions ?? []) arns.add(foundationModel(region, model.id));
      }
    } else {
      for (const region of provider.regions) arns.add(foundationModel(region, model.id));
    }
  }
  return [...arns].sort();
}

/** The foundation models CountTokens may be called on: every configured model in each calling Region. */
export function bedrockCountResources(provider: BedrockProvider, partition: string): string[] {
  const arns = new Set(provider.models.flatMap((model) => provider.regions.map((region) => `arn:${partition}:bedrock:${region}::foundation-model/${model.id}`)));
  return [...arns].sort();
}
