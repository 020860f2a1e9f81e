/** Headers the gateway answers with, and the ones one gateway tier speaks to another (proxy -> spoke). */

/** The route that answered (`provider/account/region/model`); through a spoke, the spoke's. */
export const ROUTE_HEADER = 'x-gateway-route';

/** How many attempts reached a provider; through a spoke, its own attempts are added. */
export const ATTEMPTS_HEADER = 'x-gateway-attempts';

/** `include`: stream the usage chunk whatever the body's stream_options say (the proxy's quotas need it). */
export const USAGE_HEADER = 'x-gateway-usage';

/** Embeddings: how many provider batches the request was split into (through a spoke, the spoke's). */
export const BATCHES_HEADER = 'x-gateway-batches';
/**
 * Proxy -> spoke, `report`: report the cost of what you served, the proxy charges it (a
 * spoke without tenants then counts it in no spend total of its own).
 */
export const COST_REPORT_HEADER = 'x-gateway-cost';
export const COST_REPORT = 'report';

/** The cost in USD of a JSON answer, when its route has a price (every role). */
export const COST_HEADER = 'x-gateway-cost-usd';

/** Spoke -> proxy, streams asked to report their cost: the cost in USD, in the `usage` of a chat stream's final usage chunk or of a Messages stream's final message_delta. */
export const USAGE_COST_FIELD = 'cost_usd';

/** Names the request's session for session affinity (before the body's prompt_cache_key); the proxy passes the session on to its spoke in it. */
export const SESSION_HEADER = 'x-session-id';

/** What session affinity did: `hit`, `new` or `moved` (on every answer of a session). */
export const AFFINITY_HEADER = 'x-gateway-affinity';
