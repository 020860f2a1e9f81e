/**
 * A request's images against the routes of its model, before anything is sent: a part
 * that is not a usable image is a 400 naming it; a route whose provider kind cannot take
 * the images (a URL it would not fetch, a size or count past its documented limits) is
 * passed over with why; when no route can, the 400 names the part. A proxy's routes are
 * spokes, which check against their own targets: it checks only the parts themselves.
 */
import type { ChatRequest } from '../core/chat-request';
import { badRequest } from '../core/gateway-error';
import { hasImages, requestImages, type RequestImage } from '../core/image-url';
import type { ProviderType } from '../config/schema';
import { imageProblem, type ImageProblem } from '../providers/image-support';
import type { Route } from '../providers/types';
import type { ModelRoutes } from '../routing/route-table';

/** Why a route cannot take the request's images, for the executor to pass it over (undefined: every route can). */
export function checkImages(req: ChatRequest, routes: ModelRoutes, spokes: boolean): ((route: Route) => string | undefined) | undefined {
  if (!hasImages(req)) return undefined;
  const images: RequestImage[] = [];
  for (const img of requestImages(req)) {
    if ('error' in img) throw badRequest(`Invalid '${img.param}': ${img.error}`, img.param, 'invalid_image');
    images.push(img);
  }
  if (spokes) return undefined;
  const problems = new Map<ProviderType, ImageProblem | undefined>();
  let first: ImageProblem | undefined;
  let servable = false;
  for (const route of routes.groups.flat()) {
    const type = route.provider.type;
    if (!problems.has(type)) problems.set(type, imageProblem(images, type));
    const problem = problems.get(type);
    if (problem) first ??= problem;
    else servable = true;
  }
  if (!servable && first) throw badRequest(`Invalid '${first.param}': no target of this model can take it: ${first.message}`, first.param, 'unsupported_image');
  return (route) => {
    const problem = problems.get(route.provider.type);
    return problem && `${problem.param}: ${problem.message}`;
  };
}
