/** Operator pages for the test's own loopback requests (a gateway with tenants serves them only to operators). */
export const LOOPBACK_OPERATORS = { networks: ['127.0.0.1', '::1'] };
