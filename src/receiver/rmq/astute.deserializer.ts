import type { ConsumerDeserializer, IncomingEvent } from '@nestjs/microservices';
import { isCastMethod } from '../cast';

/**
 * Nest patterns of Astute's methods. Object patterns, because Nest looks a handler up by
 * JSON.parse-ing the pattern string, which costs a thrown exception per message for a bare string.
 */
export const castPattern = (method: string) => ({ astute: method });
/** Pattern for a message that is not a cast we know; its handler dead-letters it with the reason. */
export const UNSUPPORTED_PATTERN = castPattern('unsupported');

/**
 * Astute sends `{"method": ..., "args": {...}}`, not Nest's `{pattern, data}`. Known methods become
 * patterns (data = the whole cast, validated by the handler); anything else goes to UNSUPPORTED_PATTERN
 * with the reason, instead of Nest's silent "no handler" nack. No `id`: every cast is an event.
 */
export class AstuteDeserializer implements ConsumerDeserializer {
  deserialize(value: unknown): IncomingEvent {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { pattern: UNSUPPORTED_PATTERN, data: { reason: 'message body is not a JSON object', raw: value } };
    }
    const method = (value as { method?: unknown }).method;
    if (!isCastMethod(method)) {
      const reason = method === undefined ? 'message has no "method"' : `unknown method ${JSON.stringify(method)}`;
      return { pattern: UNSUPPORTED_PATTERN, data: { reason, raw: value } };
    }
    return { pattern: castPattern(method), data: value };
  }
}
