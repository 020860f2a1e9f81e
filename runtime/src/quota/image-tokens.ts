/**
 * What an image costs in prompt tokens, roughly, for admission: from its pixel size (read
 * from the image header, never from the length of its base64) by the providers'
 * documented rules, the larger of OpenAI's tiles (85 tokens plus 170 per 512 px tile
 * after scaling into 2048 px and to 768 px on the short side; 85 in all at detail low)
 * and Anthropic's width x height / 750 (images past 1.15 megapixels are scaled down
 * first, so at most about 1,600). Real usage replaces the estimate when the answer ends.
 */
import { pixelSizeOf, type RequestImage } from '../core/image-url';

/** An image whose size is unknown (a remote URL, an unreadable header): the most either rule charges. */
export const UNKNOWN_IMAGE_TOKENS = 1600;

export function imageTokens(img: RequestImage): number {
  const size = img.image.kind === 'inline' ? pixelSizeOf(img.image) : undefined;
  if (!size) return UNKNOWN_IMAGE_TOKENS;
  return Math.max(openAITokens(size.width, size.height, img.detail), anthropicTokens(size.width, size.height));
}

function openAITokens(width: number, height: number, detail: RequestImage['detail']): number {
  if (detail === 'low') return 85;
  let w = width;
  let h = height;
  const fit = Math.min(1, 2048 / Math.max(w, h));
  w *= fit;
  h *= fit;
  const shrink = Math.min(1, 768 / Math.min(w, h));
  w *= shrink;
  h *= shrink;
  return 85 + 170 * Math.ceil(w / 512) * Math.ceil(h / 512);
}

function anthropicTokens(width: number, height: number): number {
  const scale = Math.min(1, Math.sqrt(1_150_000 / (width * height)), 1568 / Math.max(width, height));
  return Math.ceil((width * scale * (height * scale)) / 750);
}
