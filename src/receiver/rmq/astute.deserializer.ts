import type { ConsumerDeserializer, IncomingEvent } from '@nestjs/microservices';
import { CastRejected, isCastMethod, readMessage } from '../cast';
import type { HeldMessage } from './held-message';

/**
 * The Nest pattern of a group of deliveries (BusController's one handler). An object pattern, because
 * Nest looks a handler up by JSON.parse-ing the pattern string, which costs a thrown exception for a bare string.
 */
export const DELIVERIES_PATTERN = { astute: 'deliveries' };

/** One delivery, read: a cast of a known method (validated by the handler), or why it can never be one. */
export type Delivery = { cast: Record<string, unknown>; reason?: undefined } | { reason: string; kind: 'invalid' | 'unsupported' };

/**
 * Astute sends `{"method": ..., "args": {...}}`, not Nest's `{pattern, data}`. The transport
 * (bus-consumer.ts) hands deliveries over in groups, one event per group (DELIVERIES_PATTERN), whatever
 * their bodies: a message is not Nest's `{pattern, data}`, so there is no pattern to find in it. No `id`:
 * every group is an event.
 *
 * The bodies are read by the handler, one message at a time (readDelivery), not all here first: a group
 * can hold a thousand deliveries, and all their parsed bodies alive at once were a sixth of what young
 * collections copied (issue #17); read one by one, each is garbage before the next is read.
 */
export class AstuteDeserializer implements ConsumerDeserializer {
  deserialize(messages: HeldMessage[]): IncomingEvent {
    return { pattern: DELIVERIES_PATTERN, data: messages };
  }
}

/**
 * A message's body, read once: a known method is a cast (the handler validates it); anything else
 * carries the reason it is dead-lettered with, instead of Nest's silent "no handler" nack.
 */
export function readDelivery(message: HeldMessage): Delivery {
  let value: unknown;
  try {
    value = readMessage(message.content);
  } catch (e) {
    if (!(e instanceof CastRejected)) throw e;
    // A compressed body (gzip...) is not UTF-8: say what it was sent as, as no encoding is undone here.
    const encoding: unknown = message.properties.contentEncoding;
    const sentAs =
      typeof encoding === 'string' && encoding ? ` (sent with content-encoding ${JSON.stringify(encoding)}, which is not read)` : '';
    return { reason: `${e.message}${sentAs}`, kind: 'invalid' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { reason: 'message body is not a JSON object', kind: 'unsupported' };
  }
  const method = (value as { method?: unknown }).method;
  if (!isCastMethod(method)) {
    const reason = method === undefined ? 'message has no "method"' : `unknown method ${JSON.stringify(method)}`;
    return { reason, kind: 'unsupported' };
  }
  return { cast: value as Record<string, unknown> };
}
