import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { ReceiverStats } from '../../src/receiver/receiver-stats';
import { DeadLetterer } from '../../src/receiver/rmq/dead-letterer.service';
import { DeadLetterTopology, policyCommand } from '../../src/receiver/rmq/dead-letter-topology';

/**
 * What happens when a dead-letter copy fails (issue #11): rejected to the queue's dead-letter
 * exchange at once, or (no exchange) held and tried again with back-off, then rejected; never
 * requeued; failures remembered when the message comes back; repeated errors logged once per
 * interval. The channel is a fake with amqplib's confirm bookkeeping (`unconfirmed`).
 */

const QUEUE = 'q';
const WITH_EXCHANGE: DeadLetterTopology = {
  exchange: 'q.dead-letter',
  dlqAssertable: true,
  dlqOptions: { durable: true },
  queueOptions: { durable: true },
  noAssert: false,
};
const WITHOUT: DeadLetterTopology = { ...WITH_EXCHANGE, exchange: null };

type Outcome = 'accept' | 'refuse' | 'throw' | 'close';

class FakeChannel extends EventEmitter {
  events: string[] = [];
  unconfirmed: unknown[] = [];
  isClosed = false;
  /** What the broker does with each next publish; the last one repeats. */
  constructor(private readonly outcomes: Outcome[]) {
    super();
  }
  assertQueue(queue: string) {
    return Promise.resolve({ queue, messageCount: 0, consumerCount: 0 });
  }
  sendToQueue(_queue: string, _content: Buffer, _opts: unknown, cb: (err: unknown) => void): boolean {
    if (this.isClosed) throw new Error('Channel closed');
    const outcome = this.outcomes.length > 1 ? this.outcomes.shift()! : this.outcomes[0];
    // As amqplib's ConfirmChannel: the callback is queued before the message is encoded.
    this.unconfirmed.push(cb);
    this.events.push(`send:${outcome}`);
    if (outcome === 'throw') throw new RangeError('The value of "offset" is out of range. It must be >= 0 and <= 65532. Received 65534');
    setImmediate(() => {
      this.unconfirmed.splice(this.unconfirmed.indexOf(cb), 1);
      if (outcome === 'close') this.close();
      cb(outcome === 'accept' ? null : new Error(outcome === 'refuse' ? 'message nacked' : 'channel closed'));
    });
    return true;
  }
  close(): void {
    this.isClosed = true;
    this.emit('close');
  }
  ack(m: ConsumeMessage): void {
    if (this.isClosed) throw new Error('Channel closed');
    this.events.push(`ack:${m.fields.deliveryTag}`);
  }
  nack(m: ConsumeMessage, _all: boolean, requeue: boolean): void {
    if (this.isClosed) throw new Error('Channel closed');
    this.events.push(`nack:${m.fields.deliveryTag}:${requeue}`);
  }
}

const message = (tag: number, content = 'not json', redelivered = false) =>
  ({
    content: Buffer.from(content),
    fields: { deliveryTag: tag, redelivered, exchange: 'nailgun', routingKey: 'nailgun', consumerTag: 'c' },
    properties: { headers: { 'x-case': 'c' }, contentType: 'application/json' },
  }) as unknown as ConsumeMessage;

async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function setup(topology: DeadLetterTopology, outcomes: Outcome[]) {
  const stats = new ReceiverStats();
  const dl = new DeadLetterer({ amqpQueue: QUEUE, deadLetterAttempts: 4, deadLetterRetryFirstMs: 20, deadLetterRetryMaxMs: 80 }, stats);
  dl.use(topology);
  const ch = new FakeChannel(outcomes);
  let settled = 0;
  const send = (m: ConsumeMessage, channel = ch) =>
    dl.send(channel as unknown as ConfirmChannel, m, 'message body is not a JSON object', () => settled++);
  return { dl, ch, stats, send, settled: () => settled };
}

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  Logger.overrideLogger({
    log: () => undefined,
    warn: (m: string) => lines.push(`warn ${m}`),
    error: (m: string) => lines.push(`error ${m}`),
    debug: () => undefined,
    verbose: () => undefined,
  });
});

describe('DeadLetterer', () => {
  it('copies, then acks', async () => {
    const s = setup(WITH_EXCHANGE, ['accept']);
    await s.send(message(1));
    expect(s.ch.events).toEqual(['send:accept', 'ack:1']);
    expect(s.stats.deadLettered).toBe(1);
    expect(s.settled()).toBe(1);
  });

  it('rejects a message whose copy is refused to the dead-letter exchange at once, without requeue', async () => {
    const s = setup(WITH_EXCHANGE, ['refuse']);
    const started = Date.now();
    await s.send(message(1));
    expect(s.ch.events).toEqual(['send:refuse', 'nack:1:false']);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(s.stats.deadLettered).toBe(0);
    expect(s.settled()).toBe(1);
    expect(lines.some((l) => /^warn rejected a message .* dead-letter exchange q\.dead-letter/.test(l))).toBe(true);
  });

  it('without a dead-letter exchange: holds the message, copies again with back-off, gives up after the cap (rejects, never requeues)', async () => {
    const s = setup(WITHOUT, ['refuse']);
    const started = Date.now();
    await s.send(message(1));
    // Held: the call returned, the message is not settled.
    expect(s.ch.events).toEqual(['send:refuse']);
    expect(s.settled()).toBe(0);
    await waitFor(() => s.settled() === 1, 'the message to be given up');
    const elapsed = Date.now() - started;
    expect(s.ch.events).toEqual(['send:refuse', 'send:refuse', 'send:refuse', 'send:refuse', 'nack:1:false']);
    // Back-off 20 + 40 + 80 ms between the four attempts.
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(lines.filter((l) => /^error gave up a message .* dropped unless a policy/.test(l))).toHaveLength(1);
  });

  it('a copy accepted on a later attempt acks the held message', async () => {
    const s = setup(WITHOUT, ['refuse', 'refuse', 'accept']);
    await s.send(message(1));
    await waitFor(() => s.settled() === 1, 'the held message to be dead-lettered');
    expect(s.ch.events).toEqual(['send:refuse', 'send:refuse', 'send:accept', 'ack:1']);
    expect(s.stats.deadLettered).toBe(1);
  });

  it('takes back the confirm callback amqplib left queued when encoding threw', async () => {
    const s = setup(WITH_EXCHANGE, ['throw']);
    await s.send(message(1));
    expect(s.ch.unconfirmed).toEqual([]);
    expect(s.ch.events).toEqual(['send:throw', 'nack:1:false']);
  });

  it('remembers a failed copy when its channel closes: the message that comes back is rejected (exchange) or waits its back-off (none)', async () => {
    const a = setup(WITH_EXCHANGE, ['close']);
    await a.send(message(1));
    expect(a.ch.events).toEqual(['send:close']);
    expect(a.settled()).toBe(1);
    const next = new FakeChannel(['accept']);
    await a.send(message(1, 'not json', true), next);
    // No second copy attempt: to the dead-letter exchange at once.
    expect(next.events).toEqual(['nack:1:false']);

    const b = setup(WITHOUT, ['close']);
    await b.send(message(1));
    const again = new FakeChannel(['accept']);
    const started = Date.now();
    await b.send(message(1, 'not json', true), again);
    expect(again.events).toEqual([]);
    await waitFor(() => again.events.length === 2, 'the copy after the back-off');
    expect(again.events).toEqual(['send:accept', 'ack:1']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it('leaves a held message alone once its channel has closed (the broker returned it to the queue)', async () => {
    const s = setup(WITHOUT, ['refuse']);
    await s.send(message(1));
    s.ch.close();
    await waitFor(() => s.settled() === 1, 'the held message to be let go');
    expect(s.ch.events).toEqual(['send:refuse']);
  });

  it('returns held messages to the queue at shutdown', async () => {
    const s = setup(WITHOUT, ['refuse']);
    await s.send(message(1));
    s.dl.onModuleDestroy();
    expect(s.ch.events).toEqual(['send:refuse', 'nack:1:true']);
    expect(s.settled()).toBe(1);
  });

  it('logs a repeated failure once (with a count later), not once per message', async () => {
    const s = setup(WITH_EXCHANGE, ['refuse']);
    for (let i = 1; i <= 500; i++) await s.send(message(i, `body ${i}`));
    expect(s.ch.events.filter((e) => e.startsWith('nack:'))).toHaveLength(500);
    expect(lines.length).toBeLessThanOrEqual(3);
    s.dl.onModuleDestroy();
    expect(lines.some((l) => /repeated 499 more times/.test(l))).toBe(true);
  });
});

describe('the policy command the warning gives (a queue declared without a dead-letter exchange)', () => {
  it('names the queue exactly (dots escaped), the exchange, and the vhost when it is not /; never the credentials', () => {
    expect(policyCommand('amqp://guest:secret@127.0.0.1:5672', 'nailgun', 'nailgun.dead-letter')).toBe(
      `rabbitmqctl set_policy --apply-to queues 'nailgun-dead-letter' '^nailgun$' '{"dead-letter-exchange":"nailgun.dead-letter"}'`,
    );
    const other = policyCommand('amqps://u:secret@mq:5671/fuel%2Fprod', 'nail.gun', 'nail.gun.dead-letter');
    expect(other).toBe(
      `rabbitmqctl set_policy -p 'fuel/prod' --apply-to queues 'nail.gun-dead-letter' '^nail\\.gun$' '{"dead-letter-exchange":"nail.gun.dead-letter"}'`,
    );
    expect(other).not.toContain('secret');
  });
});
