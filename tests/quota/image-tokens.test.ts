/**
 * Images in the prompt estimate: by pixel size (the providers' documented rules), never by
 * the length of their base64; the proxy's forwarded estimate counts image URLs as images.
 */
import { expect } from '@jest/globals';
import { forwardedChat } from '../../runtime/src/api/forwarded-chat';
import { chatRequestSchema } from '../../runtime/src/core/chat-request';
import { parseImageUrl } from '../../runtime/src/core/image-url';
import { imageTokens, UNKNOWN_IMAGE_TOKENS } from '../../runtime/src/quota/image-tokens';
import { estimatePromptTokens } from '../../runtime/src/quota/token-estimate';
import { dataUrl, imageMessage, png } from '../helpers/images';

const tokensOf = (url: string, detail?: 'low' | 'high' | 'auto') => {
  const image = parseImageUrl(url);
  if ('error' in image) throw new Error(image.error);
  return imageTokens({ param: 'p', image, detail });
};

describe('image tokens', () => {
  it('follow the larger of the OpenAI tile rule and Anthropic width x height / 750', () => {
    // 1024 x 1024: OpenAI 768 x 768 -> 4 tiles -> 765; Anthropic 1,048,576 / 750 -> 1,399.
    expect(tokensOf(dataUrl(png(1024, 1024)))).toBe(1399);
    // 200 x 100: OpenAI one tile -> 255; Anthropic 27.
    expect(tokensOf(dataUrl(png(200, 100)))).toBe(255);
    // A huge image is scaled down first: Anthropic's cap (about 1,600), OpenAI 2048 x 768 -> 6 tiles -> 1,105.
    expect(tokensOf(dataUrl(png(8000, 3000)))).toBeLessThanOrEqual(1600);
    // detail low: OpenAI charges 85, Anthropic ignores it.
    expect(tokensOf(dataUrl(png(200, 100)), 'low')).toBe(85);
  });

  it('do not grow with the bytes of the file, and are the most either rule charges when the size is unknown', () => {
    expect(tokensOf(dataUrl(png(640, 480, 3_000_000)))).toBe(tokensOf(dataUrl(png(640, 480))));
    expect(tokensOf('https://example.com/cat.png')).toBe(UNKNOWN_IMAGE_TOKENS);
    expect(tokensOf(`data:image/jpeg;base64,${Buffer.from('not a jpeg at all').toString('base64')}`)).toBe(UNKNOWN_IMAGE_TOKENS);
  });

  it('count in the prompt estimate, the full one and the proxy forwarded one alike', () => {
    const body = { model: 'chat', messages: [imageMessage('What is this?', dataUrl(png(1024, 1024, 2_000_000)))] };
    const full = estimatePromptTokens(chatRequestSchema.parse(body));
    const forwarded = estimatePromptTokens(forwardedChat(JSON.stringify(body))!);
    expect(full).toBeGreaterThan(1399);
    expect(full).toBeLessThan(1500);
    // The forwarded estimate counts the body's JSON framing as text too, but not the 2.7 MB of base64.
    expect(forwarded).toBeGreaterThan(1399);
    expect(forwarded).toBeLessThan(1500);
  });
});
