import { finish, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';
import { Bus } from '../support/bus';
import { waitFor } from '../support/services';

/**
 * Raw Astute-format JSON published to the exchange with amqplib, results read back over REST; with
 * the queue and its dead-letter queue declared classic (the default) and quorum (AMQP_QUEUE_TYPE).
 */
describe.each(['classic', 'quorum'] as const)('RabbitMQ receiver (%s queues)', (queueType) => {
  let t: TestApp;
  let bus: Bus;
  let exchange: string;
  let dlq: string;
  const publish = (body: unknown) => bus.publish(exchange, 'nailgun', body);

  beforeAll(async () => {
    t = await startApp({ amqp: true, env: { AMQP_QUEUE_TYPE: queueType } });
    bus = await Bus.connect();
    exchange = t.config.amqpExchange;
    dlq = `${t.config.amqpQueue}.dead-letter`;
  });
  afterAll(async () => {
    if (t) await bus?.removeDeclared(t.config);
    await bus?.close();
    await t?.close();
  });

  const history = async (txId: number) =>
    (await t.http().get(`/api/v1/transactions/${txId}/deployment_history?include_summary=1`).expect(200)).body;
  const txByUuid = async (uuid: string) =>
    (await t.http().get('/api/v1/transactions').expect(200)).body.find((x: { uuid: string }) => x.uuid === uuid);

  it(`declares a durable ${queueType} queue and dead-letter queue, bound to the durable topic exchange, with a consumer`, async () => {
    // Astute's own declaration (durable topic) must match ours, or RabbitMQ would answer 406.
    await bus.channel.assertExchange(exchange, 'topic', { durable: true });
    const q = await bus.queueDepth(t.config.amqpQueue);
    expect(q.consumers).toBe(1);
    // The type as the broker has it: a declaration of the queue's own type is accepted, of the other refused.
    const dlx = { 'x-dead-letter-exchange': dlq };
    const types = async (queue: string, args: Record<string, string>) => ({
      quorum: await bus.accepts(queue, { durable: true, arguments: { ...args, 'x-queue-type': 'quorum' } }),
      classic: await bus.accepts(queue, { durable: true, arguments: { ...args, 'x-queue-type': 'classic' } }),
    });
    const expected = { quorum: queueType === 'quorum', classic: queueType === 'classic' };
    expect(await types(t.config.amqpQueue, dlx)).toEqual(expected);
    expect(await types(dlq, {})).toEqual(expected);
    await t
      .http()
      .get('/health/ready')
      .expect(200)
      .expect((r) => expect(r.body.info.broker.status).toBe('up'));
  });

  it('records a run from casts that arrive out of order and duplicated, converging to the right rows', async () => {
    const uuid = 'bus-run-1';
    await publish(
      start(
        uuid,
        { id: 21, name: 'bus', release: 'mitaka-9.0' },
        {
          '1': [
            { id: 'netconfig', type: 'puppet' },
            { id: 'hiera', type: 'puppet' },
          ],
          null: [{ id: 'deploy_start', type: 'stage' }],
        },
      ),
    );
    // ready before running, duplicates, deploy_resp (Fuel 9.x) and transaction_resp (10+) mixed.
    await publish(resp(uuid, [task('1', 'netconfig', 'ready', { time: '2026-02-01T10:05:00Z' })], {}, 'deploy_resp'));
    await publish(resp(uuid, [task('1', 'netconfig', 'running', { time: '2026-02-01T10:00:00Z' })]));
    await publish(resp(uuid, [task('1', 'netconfig', 'ready', { time: '2026-02-01T10:05:00Z' })]));
    await publish(
      resp(uuid, [
        task(1, 'hiera', 'failed', { time: '2026-02-01T10:06:00Z', error_msg: 'hiera broke', summary: { resources: { failed: 1 } } }),
      ]),
    );
    await publish(resp(uuid, [task(null, 'deploy_start', 'successful')]));
    await publish(resp(uuid, [task('1', 'hiera', 'running', { time: '2026-02-01T10:05:30Z' })]));
    await publish(finish(uuid, 'error', { error: 'Deployment failed' }));

    const tx = await waitFor(async () => {
      const x = await txByUuid(uuid);
      return x?.status === 'error' && x;
    }, 'the run to end in error');
    expect(tx).toMatchObject({ progress: 100, message: 'Deployment failed', cluster: 21 });
    const rows = await waitFor(async () => {
      const r = await history(tx.id);
      return r.find((x: { task_name: string }) => x.task_name === 'hiera')?.status === 'error' && r;
    }, 'hiera to be error');
    expect(rows).toEqual([
      expect.objectContaining({ node_id: null, task_name: 'deploy_start', status: 'ready' }),
      expect.objectContaining({
        node_id: '1',
        task_name: 'netconfig',
        status: 'ready',
        time_start: '2026-02-01T10:00:00.000Z',
        time_end: '2026-02-01T10:05:00.000Z',
      }),
      expect.objectContaining({
        node_id: '1',
        task_name: 'hiera',
        status: 'error',
        time_start: '2026-02-01T10:05:30.000Z',
        time_end: '2026-02-01T10:06:00.000Z',
        error_message: 'hiera broke',
        summary: { resources: { failed: 1 } },
      }),
    ]);
    await waitFor(async () => (await bus.queueDepth(t.config.amqpQueue)).messages === 0, 'the queue to be empty');
  });

  it('dead-letters unknown methods, non-JSON and reports on unknown runs, with the reason in a header', async () => {
    await publish({ method: 'reboot_node', args: { task_uuid: 'x' } });
    await publish(Buffer.from('this is not json'));
    await publish(finish('never-started', 'ready'));
    await publish({ method: 'transaction_start', args: { task_uuid: 'bad-start', cluster: { id: -1, release: 'mitaka-9.0' } } });
    const dead = await waitFor(async () => {
      const got = await bus.queueDepth(dlq);
      return got.messages >= 4;
    }, '4 dead letters');
    expect(dead).toBe(true);
    const messages = await bus.drain(dlq);
    const reasons = messages.map((m) => String(m.properties.headers?.['x-dead-letter-reason']));
    expect(reasons).toEqual(
      expect.arrayContaining([
        'unknown method "reboot_node"',
        'message body is not a JSON object',
        expect.stringMatching(/unknown transaction: no transaction_start was recorded for task_uuid 'never-started'/),
        expect.stringMatching(/args.cluster.id must be a non-negative integer, got -1/),
      ]),
    );
    // The original bytes are kept, so nothing is lost.
    expect(messages.map((m) => m.content.toString())).toContain('this is not json');
    expect(messages.every((m) => m.properties.headers?.['x-original-exchange'] === exchange)).toBe(true);
    const stats = (await t.http().get('/api/v1/receiver/stats').expect(200)).body;
    expect(stats.dead_lettered).toBeGreaterThanOrEqual(4);
  });

  it('skips and reports a bad nodes[] entry, still applying the others of the same cast', async () => {
    const uuid = 'bus-run-2';
    await publish(start(uuid, { id: 21, release: 'mitaka-9.0' }, { '2': [{ id: 'a' }, { id: 'b' }] }));
    await publish(resp(uuid, [task('2', 'a', 'exploded'), task('2', 'b', 'ready')]));
    const tx = await waitFor(() => txByUuid(uuid), 'the run');
    const rows = await waitFor(async () => {
      const r = await history(tx.id);
      return r.find((x: { task_name: string }) => x.task_name === 'b')?.status === 'ready' && r;
    }, 'b to be ready');
    expect(rows.find((x: { task_name: string }) => x.task_name === 'a').status).toBe('pending');
    const stats = (await t.http().get('/api/v1/receiver/stats').expect(200)).body;
    expect(stats.entries_skipped).toBeGreaterThanOrEqual(1);
  });

  it('records runs of pre-9.0 clusters without task history, and counts what it did not record', async () => {
    const uuid = 'bus-old';
    await publish(start(uuid, { id: 22, name: 'old', release: 'liberty-8.0' }, { '1': [{ id: 'netconfig' }] }));
    await publish(resp(uuid, [task('1', 'netconfig', 'ready')]));
    await publish(finish(uuid, 'ready'));
    const tx = await waitFor(async () => {
      const x = await txByUuid(uuid);
      return x?.status === 'ready' && x;
    }, 'the pre-9.0 run to end');
    expect((await t.sql.query('SELECT count(*)::int AS n FROM deployment_history WHERE transaction_id = $1', [tx.id])).rows[0].n).toBe(0);
    await t.http().get(`/api/v1/transactions/${tx.id}/deployment_history`).expect(409);
    await waitFor(async () => (await t.http().get('/api/v1/receiver/stats')).body.pre_history_tasks_ignored >= 1, 'the counter');
  });

  it('batches a burst of casts and acks every message only once its rows are committed', async () => {
    const uuid = 'bus-burst';
    const nodes = Array.from({ length: 20 }, (_, i) => String(i + 1));
    const tasks = Array.from({ length: 25 }, (_, i) => ({ id: `task-${i}`, type: 'puppet' }));
    await publish(start(uuid, { id: 23, release: 'mitaka-9.0' }, Object.fromEntries(nodes.map((n) => [n, tasks]))));
    const casts = nodes.flatMap((n) =>
      tasks.flatMap((tk) => [resp(uuid, [task(n, tk.id, 'running')]), resp(uuid, [task(n, tk.id, 'ready')])]),
    );
    await bus.publishAll(exchange, 'nailgun', casts);
    await waitFor(
      async () => {
        const r = await t.sql.query(
          `SELECT count(*) FILTER (WHERE h.status = 'ready')::int AS ready, count(*)::int AS total
         FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id WHERE t.uuid = $1`,
          [uuid],
        );
        return r.rows[0].ready === 500 && r.rows[0].total === 500;
      },
      'all 500 rows ready',
      30000,
    );
    await waitFor(async () => (await bus.queueDepth(t.config.amqpQueue)).messages === 0, 'the queue to drain');
    const stats = (await t.http().get('/api/v1/receiver/stats').expect(200)).body;
    expect(stats.batches).toBeLessThan(stats.casts);
  });
});
