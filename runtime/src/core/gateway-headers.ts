/** Headers one gateway tier speaks to another (proxy -> spoke). */

/** `include`: stream the usage chunk whatever the body's stream_options say (the proxy's quotas need it). */
export const USAGE_HEADER = 'x-gateway-usage';
