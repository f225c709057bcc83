import type { ConsumeMessage, MessageProperties } from 'amqplib';
import { deadLetterHeaders, messageKey } from '../../src/receiver/rmq/dead-letter';
import { readDelivery } from '../../src/receiver/rmq/astute.deserializer';
import { heldMessage } from '../../src/receiver/rmq/held-message';

/**
 * What the bus keeps of a delivery while its cast waits for a batch (held-message.ts): less than
 * amqplib's message, never less than settling and dead-lettering it read.
 */

/** Properties as amqplib decodes them: every field present, undefined when the message did not carry it. */
function properties(set: Partial<MessageProperties> = {}): MessageProperties {
  return {
    contentType: undefined,
    contentEncoding: undefined,
    headers: {},
    deliveryMode: undefined,
    priority: undefined,
    correlationId: undefined,
    replyTo: undefined,
    expiration: undefined,
    messageId: undefined,
    timestamp: undefined,
    type: undefined,
    userId: undefined,
    appId: undefined,
    clusterId: undefined,
    ...set,
  };
}

/** A delivery as amqplib hands it over: fresh strings for every field, as it decodes them from the frame. */
function delivery(tag: number, props: MessageProperties, exchange = 'nailgun', routingKey = 'nailgun'): ConsumeMessage {
  const fresh = (s: string) => Buffer.from(s).toString();
  return {
    fields: {
      deliveryTag: tag,
      redelivered: false,
      exchange: fresh(exchange),
      routingKey: fresh(routingKey),
      consumerTag: fresh('amq.ctag-x'),
    },
    properties: props,
    content: Buffer.from(`{"method":"transaction_resp","args":{"task_uuid":"u${tag}"}}`),
  };
}

describe('heldMessage', () => {
  it('keeps the tag, the origin and the same body (not a copy)', () => {
    const m = delivery(7, properties({ contentType: 'application/json' }));
    const held = heldMessage(m);
    expect(held.fields).toEqual({ deliveryTag: 7, exchange: 'nailgun', routingKey: 'nailgun' });
    expect(held.content).toBe(m.content);
  });

  it('shares the properties of messages that carry none but the usual content type', () => {
    const a = heldMessage(delivery(1, properties({ contentType: 'application/json' })));
    const b = heldMessage(delivery(2, properties({ contentType: 'application/json' })));
    expect(a.properties).toBe(b.properties);
    expect(a.properties).toEqual(expect.objectContaining({ contentType: 'application/json', headers: {} }));
    const none = heldMessage(delivery(3, properties()));
    expect(none.properties.contentType).toBeUndefined();
    expect(Object.isFrozen(none.properties) && Object.isFrozen(none.properties.headers)).toBe(true);
  });

  it.each([
    ['a header', { headers: { 'x-trace': 'abc' } }],
    ['a message id', { messageId: 'm-1' }],
    ['a correlation id', { correlationId: 'c-1' }],
    ['a timestamp', { timestamp: 1700000000 }],
    ['another content type', { contentType: 'text/plain' }],
    ['a content encoding', { contentEncoding: 'gzip' }],
    ['a header whose value is undefined', { headers: { 'x-empty': undefined } }],
    ['headers that are not an object', { headers: 'x' as unknown as MessageProperties['headers'] }],
  ])('keeps the properties of a message with %s, as they are', (_what, set) => {
    const props = properties({ contentType: 'application/json', ...set });
    expect(heldMessage(delivery(1, props)).properties).toBe(props);
  });

  it('keeps every exchange and routing key as sent, past the names it shares (bounded)', () => {
    for (let i = 0; i < 500; i++) {
      const held = heldMessage(delivery(i, properties(), `ex-${i}`, `rk-${i}`));
      expect(held.fields).toEqual({ deliveryTag: i, exchange: `ex-${i}`, routingKey: `rk-${i}` });
    }
  });

  it('is read as the whole message would be, its content encoding named when the body is not UTF-8', () => {
    const gzip = {
      ...delivery(1, properties({ contentType: 'application/json', contentEncoding: 'gzip' })),
      content: Buffer.from([0x1f, 0x8b, 0xff]),
    };
    expect(readDelivery(heldMessage(gzip))).toEqual({ reason: expect.stringMatching(/content-encoding "gzip"/), kind: 'invalid' });
    const plain = delivery(2, properties({ contentType: 'application/json' }));
    expect(readDelivery(heldMessage(plain))).toEqual({ cast: JSON.parse(plain.content.toString()) });
  });

  it('dead-letters as the whole message would: same key, same headers', () => {
    for (const props of [properties({ contentType: 'application/json' }), properties({ headers: { 'x-a': 1 }, messageId: 'm' })]) {
      const m = delivery(5, props);
      const held = heldMessage(m);
      expect(messageKey(held)).toBe(messageKey(m));
      const added = { 'x-dead-letter-reason': 'r', 'x-original-exchange': held.fields.exchange };
      expect(deadLetterHeaders(held.properties.headers, added)).toEqual(deadLetterHeaders(m.properties.headers, added));
      expect(held.properties.contentType).toBe(m.properties.contentType);
    }
  });
});
