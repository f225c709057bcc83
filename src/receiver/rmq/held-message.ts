import type { ConsumeMessage, Message, MessageProperties } from 'amqplib';

/**
 * What the service keeps of a delivery, from the moment amqplib hands it over (bus-consumer.ts) until it
 * is settled: what reading, acking, returning it to the queue and dead-lettering it use (its tag, where it
 * came from, its properties and body), and no more.
 *
 * Why not amqplib's message itself: deliveries wait for their group, then for their batch to commit (up
 * to the prefetch, 2,000, at once), and every young collection copies what is alive (issue #17: young
 * collections were the service's largest cost, and amqplib's objects a fifth of what they copied). amqplib
 * decodes fresh strings for the consumer tag, exchange and routing key of every message and a 14-field
 * properties object with its own headers: ~540 bytes a message. Kept here: ~180, with the exchange,
 * routing key and the usual properties shared between messages; amqplib's objects die at once.
 */
export interface HeldMessage {
  fields: Pick<ConsumeMessage['fields'], 'deliveryTag' | 'exchange' | 'routingKey'>;
  properties: Pick<MessageProperties, 'headers' | 'contentType' | 'contentEncoding' | 'messageId' | 'correlationId' | 'timestamp'>;
  content: Buffer;
}

/** Properties of a message that carries none but (perhaps) its content type: shared, never written to. */
const PLAIN: ReadonlyMap<string | undefined, HeldMessage['properties']> = new Map(
  [undefined, 'application/json'].map((contentType) => {
    const none = {
      contentType,
      headers: Object.freeze({}),
      contentEncoding: undefined,
      messageId: undefined,
      correlationId: undefined,
      timestamp: undefined,
    };
    return [contentType, Object.freeze(none)];
  }),
);

/** Exchanges and routing keys seen, each held once; bounded (a sender naming thousands gets no sharing past these). */
const NAMES = new Map<string, string>();
const MAX_NAMES = 64;

function shared(name: string): string {
  const known = NAMES.get(name);
  if (known !== undefined) return known;
  if (NAMES.size < MAX_NAMES) NAMES.set(name, name);
  return name;
}

/** A delivery as it is held (see HeldMessage). The content is the same Buffer: its bytes are never copied. */
export function heldMessage(message: ConsumeMessage): HeldMessage {
  const { deliveryTag, exchange, routingKey } = message.fields;
  return {
    fields: { deliveryTag, exchange: shared(exchange), routingKey: shared(routingKey) },
    properties: plainProperties(message.properties) ?? message.properties,
    content: message.content,
  };
}

/** The shared properties equal to `p`, when it carries nothing but a usual content type (no header, no other property). */
function plainProperties(p: MessageProperties | undefined): HeldMessage['properties'] | null {
  if (!p) return null;
  const plain = PLAIN.get(p.contentType as string | undefined);
  if (!plain) return null;
  for (const key in p) {
    if (key === 'contentType') continue;
    const value = (p as unknown as Record<string, unknown>)[key];
    if (key === 'headers' ? !isEmptyObject(value) : value !== undefined) return null;
  }
  return plain;
}

function isEmptyObject(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'object' || value === null) return false;
  for (const _ in value) return false;
  return true;
}

/**
 * The message as amqplib's ack and nack take it. They read its delivery tag only (Channel#ack, #nack:
 * `message.fields.deliveryTag`), which a held message keeps.
 */
export function asAmqpMessage(message: HeldMessage): Message {
  return message as unknown as Message;
}
