/**
 * How every API ends a streamed answer: its events go out as SSE (straight to the Node
 * response, or through a web stream elsewhere), and once they end the request is settled,
 * charged part by part at each route's price (a proxy's spokes report theirs), and reported.
 */
import type { Usage } from '../core/openai-types';
import type { Route, UpstreamMeta } from '../providers/types';
import type { Answered } from '../routing/routed-request';
import { sseBody, withSseHeaders, writeSse, type SseBodyOptions, type SseFraming } from '../stream/sse-response';
import { SENT, type ApiCall, type ApiReply } from './call';
import type { ApiRequest, RequestRouting } from './request-lifecycle';

/** What the stream came to, in OpenAI's usage terms whatever the API (read when it is charged and when it ends). */
export interface StreamEnding {
  /** The route that finished the answer. */
  route?: Route;
  continuations: number;
  usage?: Usage;
  /** The text the client received. */
  text?: string;
  /** Each upstream answer that made up the stream, with what it used. */
  segments: readonly { route: Route; meta: UpstreamMeta; usage: Usage }[];
  /** What the gateway left out for the targets, and how the answer was completed. */
  notes?: readonly string[];
}

export interface StreamReply<E> {
  req: ApiRequest;
  c: ApiCall;
  routing: RequestRouting;
  /** The stream's first upstream answer. */
  first: Answered<UpstreamMeta>;
  ttftMs: number;
  events: AsyncIterable<E>;
  framing: SseFraming<E>;
  /** The framing for a spoke asked to report its cost: `cost` charges the parts so far and says what they cost. */
  withCost(framing: SseFraming<E>, cost: () => number | undefined): SseFraming<E>;
  ending(): StreamEnding;
  /** Added to the answer's headers. */
  headers?: Record<string, string>;
}

export function streamReply<E>(s: StreamReply<E>): ApiReply {
  const { req, routing, first } = s;
  const life = routing.life;
  let charged = false;
  const charge = () => {
    if (charged) return;
    charged = true;
    for (const part of s.ending().segments) req.charge(part.route, part.meta, part.usage);
  };
  const framing = req.reportsCost ? s.withCost(s.framing, () => (charge(), req.cost)) : s.framing;
  const sse: SseBodyOptions = {
    onCancel: (reason) => life.clientGone(reason),
    onEnd: (err) => {
      life.end();
      const end = s.ending();
      if (end.route) routing.sessionMoved(end.route);
      req.settleTenant(end.usage?.total_tokens);
      charge();
      const content = req.event.content;
      req.report(200, {
        route: first.value.upstreamRoute ?? (end.route ?? first.route).key,
        attempts: first.attempts,
        usage: end.usage,
        ttftMs: s.ttftMs,
        continuations: end.continuations,
        content: content && { ...content, answer: end.text },
        // A continuation's target may note what the first one did: each note once.
        ...(end.notes && end.notes.length > 0 ? { notes: [...new Set(end.notes)] } : {}),
        ...(life.clientLeft ? { errorCode: 'client_closed' } : err ? { errorCode: life.deadlinePassed ? 'deadline_exceeded' : 'stream_interrupted' } : {}),
      });
    },
  };
  const headers = withSseHeaders(routing.answerHeaders(first));
  if (s.headers) Object.assign(headers, s.headers);
  // On the Node server the events go straight to the response; elsewhere through a web stream.
  if (s.c.outgoing) {
    writeSse(s.c.outgoing, headers, s.events, framing, sse);
    return SENT;
  }
  return { kind: 'stream', response: new Response(sseBody(s.events, framing, sse), { status: 200, headers }) };
}
