import type { ConsumerDeserializer, IncomingEvent } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';
import { CastRejected, isCastMethod, readMessage } from '../cast';

/**
 * The Nest pattern of a group of deliveries (BusController's one handler). An object pattern, because
 * Nest looks a handler up by JSON.parse-ing the pattern string, which costs a thrown exception for a bare string.
 */
export const DELIVERIES_PATTERN = { astute: 'deliveries' };

/** One delivery, read: a cast of a known method (validated by the handler), or why it can never be one. */
export type Delivery =
  | { message: ConsumeMessage; cast: Record<string, unknown>; reason?: undefined }
  | { message: ConsumeMessage; reason: string; kind: 'invalid' | 'unsupported' };

/**
 * Astute sends `{"method": ..., "args": {...}}`, not Nest's `{pattern, data}`. The transport
 * (bus-consumer.ts) hands deliveries over in groups, one event per group (DELIVERIES_PATTERN), each
 * body read once here: a known method is a cast (the handler validates it); anything else carries the
 * reason it is dead-lettered with, instead of Nest's silent "no handler" nack. No `id`: every group is an event.
 */
export class AstuteDeserializer implements ConsumerDeserializer {
  deserialize(messages: ConsumeMessage[]): IncomingEvent {
    return { pattern: DELIVERIES_PATTERN, data: messages.map(readDelivery) };
  }
}

export function readDelivery(message: ConsumeMessage): Delivery {
  let value: unknown;
  try {
    value = readMessage(message.content);
  } catch (e) {
    if (!(e instanceof CastRejected)) throw e;
    // A compressed body (gzip...) is not UTF-8: say what it was sent as, as no encoding is undone here.
    const encoding = (message.properties as { contentEncoding?: unknown } | undefined)?.contentEncoding;
    const sentAs =
      typeof encoding === 'string' && encoding ? ` (sent with content-encoding ${JSON.stringify(encoding)}, which is not read)` : '';
    return { message, reason: `${e.message}${sentAs}`, kind: 'invalid' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { message, reason: 'message body is not a JSON object', kind: 'unsupported' };
  }
  const method = (value as { method?: unknown }).method;
  if (!isCastMethod(method)) {
    const reason = method === undefined ? 'message has no "method"' : `unknown method ${JSON.stringify(method)}`;
    return { message, reason, kind: 'unsupported' };
  }
  return { message, cast: value as Record<string, unknown> };
}
