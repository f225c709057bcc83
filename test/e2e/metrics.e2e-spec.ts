import { finish, resp, start, task } from '../support/casts';
import type { TestApp } from '../support/app';
import { useAppWithBus } from '../support/app-hooks';
import { Bus } from '../support/bus';
import { waitFor } from '../support/services';

/** GET /metrics (Prometheus) counts what the receiver and the API did; requests carry an id. */
describe('metrics and request ids', () => {
  let t: TestApp;
  let bus: Bus;
  const metric = async (name: string, labels = ''): Promise<number> => {
    const text = (await t.http().get('/metrics').expect(200)).text;
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `) || (labels && l.startsWith(`${name}{`) && l.includes(labels)));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  useAppWithBus((started) => ({ t, bus } = started));

  it('serves Prometheus text at /metrics, outside /api, public', async () => {
    const res = await t.http().get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/# TYPE dh_casts_received_total counter/);
    expect(res.text).toMatch(/dh_process_cpu_user_seconds_total/);
  });

  it('counts casts received, applied, skipped and dead-lettered by kind, and batches', async () => {
    const ex = t.config.amqpExchange;
    await bus.publish(ex, 'nailgun', start('m-1', { id: 1, release: 'mitaka-9.0' }, { '1': [{ id: 'a' }] }));
    await bus.publish(ex, 'nailgun', resp('m-1', [task('1', 'a', 'ready'), task('1', 'b', 'bogus')]));
    await bus.publish(ex, 'nailgun', finish('nope', 'ready'));
    await bus.publish(ex, 'nailgun', { method: 'reboot', args: {} });
    await waitFor(
      async () => (await metric('dh_casts_dead_lettered_total', 'reason="unknown_method"')) === 1,
      'the unknown method to be counted',
    );
    await waitFor(
      async () => (await metric('dh_casts_dead_lettered_total', 'reason="unknown_transaction"')) === 1,
      'the unknown run to be counted',
    );
    expect(await metric('dh_casts_received_total', 'method="transaction_resp",source="bus"')).toBe(2);
    expect(await metric('dh_casts_applied_total', 'outcome="started"')).toBe(1);
    expect(await metric('dh_casts_applied_total', 'outcome="applied"')).toBe(1);
    expect(await metric('dh_cast_entries_skipped_total', 'reason="bad_task_status"')).toBe(1);
    expect(await metric('dh_batch_commit_seconds_count')).toBeGreaterThanOrEqual(1);
    await t.http().post('/api/v1/casts').send(finish('m-1', 'ready')).expect(200);
    expect(await metric('dh_casts_received_total', 'method="transaction_resp",source="http"')).toBe(1);
  });

  it('times HTTP requests by route template, not by path', async () => {
    await t.http().get('/api/v1/transactions/1').expect(200);
    await t.http().get('/api/v1/transactions/99999').expect(404);
    const text = (await t.http().get('/metrics').expect(200)).text;
    expect(text).toMatch(
      /dh_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/transactions\/:transaction_id",status="200"\} 1/,
    );
    expect(text).toMatch(
      /dh_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/transactions\/:transaction_id",status="404"\} 1/,
    );
    expect(text).not.toMatch(/transactions\/99999/);
  });

  it("gives every response a request id, keeping the caller's", async () => {
    const own = await t.http().get('/api/v1/version').set('X-Request-Id', 'trace-42').expect(200);
    expect(own.headers['x-request-id']).toBe('trace-42');
    const fresh = await t.http().get('/api/v1/version').expect(200);
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
