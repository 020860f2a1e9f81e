'use strict';
/**
 * Overhead of the Anthropic Messages API (`POST /v1/messages`): the overhead scenario's
 * targets, modes and ratios, with Messages requests to an `anthropic` provider, which the
 * gateway serves natively (the body passed on with the model swapped, the answer and
 * events passed back as they came). The floor proxy and direct calls hit the same fake
 * upstream's /v1/messages.
 */
const { anthropicConfig, messagesBody, MESSAGES_HEADERS, ANTHROPIC_KEY_ENV } = require('../lib/configs');
const { runOverhead } = require('./overhead');

const MESSAGES = { name: 'messages', path: '/v1/messages', headers: MESSAGES_HEADERS, end: 'message_stop', body: (stream) => messagesBody({ stream }), config: anthropicConfig };

async function run(opts) {
  // The gateways read the provider key from their environment (the fake upstream checks none).
  process.env[ANTHROPIC_KEY_ENV] ??= 'bench-anthropic-key';
  return runOverhead(MESSAGES, opts);
}

module.exports = { id: 'messages', run };
