/**
 * What each provider kind takes of a request's images, from the providers' documented
 * limits, checked before anything is sent: whether it fetches http(s) URLs itself, the
 * size of one image in bytes and in pixels (read from its header), how many images, and
 * their total. The gateway never fetches a URL a client sent, so a kind that does not
 * fetch them cannot serve such a request.
 */
import { pixelSizeOf, type InlineImage, type RequestImage } from '../core/image-url';
import type { ProviderType } from '../config/schema';

const MB = 1024 * 1024;

interface ImageLimits {
  /** The provider fetches http(s) image URLs itself. */
  readonly fetchesUrls: boolean;
  /** Largest image; `base64` when the provider measures the encoded text (Anthropic), else the decoded bytes. */
  readonly maxImage?: { readonly bytes: number; readonly of: 'decoded' | 'base64' };
  /** Longest side in pixels of an inline image; `many`: a smaller one in requests of more than `over` images. */
  readonly maxSide?: { readonly px: number; readonly many?: { readonly over: number; readonly px: number } };
  readonly maxImages?: number;
  /** Decoded bytes of all images together. */
  readonly maxTotalBytes?: number;
  /** Where the numbers come from, for the message. */
  readonly who: string;
}

export const IMAGE_LIMITS: Readonly<Record<ProviderType, ImageLimits>> = {
  // Converse: up to 20 images, each at most 3.75 MB and 8000 x 8000 px.
  bedrock: { fetchesUrls: false, maxImage: { bytes: 3.75 * MB, of: 'decoded' }, maxSide: { px: 8000 }, maxImages: 20, who: 'Bedrock Converse' },
  // Messages API: 5 MB per image, counted on the base64 text; 8000 x 8000 px, 2000 x 2000 px in a request of more than 20 images; up to 100 images.
  anthropic: {
    fetchesUrls: true,
    maxImage: { bytes: 5 * MB, of: 'base64' },
    maxSide: { px: 8000, many: { over: 20, px: 2000 } },
    maxImages: 100,
    who: 'Anthropic',
  },
  // Chat Completions: 20 MB per image, 500 images and 50 MB of image bytes a request.
  openai: { fetchesUrls: true, maxImage: { bytes: 20 * MB, of: 'decoded' }, maxImages: 500, maxTotalBytes: 50 * MB, who: 'OpenAI' },
  // Self-hosted servers set their own limits (vLLM --limit-mm-per-prompt) and answer 400 past them.
  'openai-compatible': { fetchesUrls: false, who: 'an OpenAI-compatible server' },
  simulated: { fetchesUrls: false, who: 'the simulated provider' },
};

export interface ImageProblem {
  readonly param: string;
  readonly message: string;
}

/** The first reason a provider kind cannot take these images, or undefined when it can. */
export function imageProblem(images: readonly RequestImage[], type: ProviderType): ImageProblem | undefined {
  const limits = IMAGE_LIMITS[type];
  let total = 0;
  for (const [n, { param, image }] of images.entries()) {
    if (image.kind === 'remote') {
      if (!limits.fetchesUrls) {
        return { param, message: `${limits.who} cannot fetch image URLs, and the gateway never fetches a URL a client sent: send the image as a data: URL` };
      }
      continue;
    }
    const max = limits.maxImage;
    const size = max?.of === 'base64' ? image.base64.length : image.bytes;
    if (max && size > max.bytes) {
      return { param, message: `the image is ${mb(size)}${max.of === 'base64' ? ' of base64' : ''}; ${limits.who} takes at most ${mb(max.bytes)} per image` };
    }
    const side = limits.maxSide && sideProblem(image, limits.maxSide, images.length, limits.who);
    if (side) return { param, message: side };
    if (limits.maxImages !== undefined && n + 1 > limits.maxImages) {
      return { param, message: `${limits.who} takes at most ${limits.maxImages} images per request` };
    }
    total += image.bytes;
    if (limits.maxTotalBytes !== undefined && total > limits.maxTotalBytes) {
      return { param, message: `the images add up to more than ${mb(limits.maxTotalBytes)}, the most ${limits.who} takes per request` };
    }
  }
  return undefined;
}

/** Why an inline image is too large in pixels for a kind, or undefined (also when its size cannot be read: the provider decides then). */
function sideProblem(image: InlineImage, max: NonNullable<ImageLimits['maxSide']>, count: number, who: string): string | undefined {
  const size = pixelSizeOf(image);
  if (!size) return undefined;
  const many = max.many && count > max.many.over ? max.many : undefined;
  const px = many?.px ?? max.px;
  if (Math.max(size.width, size.height) <= px) return undefined;
  const where = many ? ` in a request of more than ${many.over} images (this one has ${count})` : '';
  return `the image is ${size.width} x ${size.height} px; ${who} takes at most ${px} x ${px} px per image${where}`;
}

function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(2).replace(/\.?0+$/, '')} MB`;
}
