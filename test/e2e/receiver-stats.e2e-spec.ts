import { startApp, TestApp } from '../support/app';
import { resp, start, task } from '../support/casts';

/**
 * GET /api/v1/receiver/stats counts the casts of both ways in: before issue #17 the batches, their casts
 * and their commit time were those of the bus only, so a service fed over HTTP showed 0 batches.
 */
describe('GET /receiver/stats: the HTTP casts too', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t?.close());

  it('counts casts received over HTTP, and the batches that committed them, apart from the bus', async () => {
    const uuid = 'stats-http-1';
    const graph = { '1': [{ id: 'a', type: 'puppet' }] };
    await t
      .http()
      .post('/api/v1/casts')
      .send(start(uuid, { id: 71, release: 'mitaka-9.0' }, graph))
      .expect(200);
    await t
      .http()
      .post('/api/v1/casts')
      .send([resp(uuid, [task('1', 'a', 'running')]), resp(uuid, [task('1', 'a', 'ready')])])
      .expect(200);
    // Refused before it reaches the store: received, never in a batch.
    await t.http().post('/api/v1/casts').send({ method: 'transaction_resp', args: {} }).expect(400);

    const stats = (await t.http().get('/api/v1/receiver/stats').expect(200)).body;
    expect(stats).toMatchObject({
      casts: 4,
      http_casts: 4,
      bus_casts: 0,
      applied: 3,
      http_batched_requests: 2,
      http_batched_casts: 3,
      // The bus's own figures stay its own.
      batches: 0,
      batched_casts: 0,
    });
    expect(stats.http_batches).toBeGreaterThanOrEqual(1);
    expect(stats.http_batches).toBeLessThanOrEqual(2);
    expect(stats.http_commit_ms).toBeGreaterThanOrEqual(0);
  });
});
