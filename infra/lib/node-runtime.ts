/**
 * The one Node.js line the platform deploys: the Lambda runtime, the esbuild target of
 * the Lambda bundle and the runtime image's base (runtime/Dockerfile, checked by the
 * tests against this). Node 24 LTS: Node 22 leaves maintenance in April 2027 and Lambda
 * deprecates a runtime shortly after its end of life; 24 is supported into 2028.
 */
export const NODE_MAJOR = 24;

/** Lambda's managed runtime identifier. */
export const LAMBDA_NODE_RUNTIME = `nodejs${NODE_MAJOR}.x`;

/** esbuild's target for code that runs on that Node. */
export const ESBUILD_NODE_TARGET = `node${NODE_MAJOR}`;
