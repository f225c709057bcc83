import { finish, resp, start, task } from '../support/casts';
import { castRunId, type TestApp } from '../support/app';
import { useListeningApp } from '../support/app-hooks';
import { openStream as open } from '../support/sse';
import { waitFor } from '../support/services';

/** GET .../deployment_history/stream: first the rows, then only what changed, then `end`. */
describe('live run view (Server-Sent Events)', () => {
  let t: TestApp;
  let port: number;
  useListeningApp((started) => ({ t, port } = started));

  it('sends the rows, then only the changed rows as casts commit, then ends with the run', async () => {
    const graph = { '1': [{ id: 'a' }, { id: 'b' }], '2': [{ id: 'a' }] };
    const id = await castRunId(t, start('live-1', { id: 80, release: 'mitaka-9.0' }, graph));
    const s = open(port, `/api/v1/transactions/${id}/deployment_history/stream`);
    await waitFor(() => s.events.some((e) => e.type === 'rows'), 'the first rows');
    const first = s.events.find((e) => e.type === 'rows')!;
    expect(first.data).toHaveLength(3);
    expect(s.events.find((e) => e.type === 'transaction')!.data).toMatchObject({ id, status: 'running' });

    await t
      .http()
      .post('/api/v1/casts')
      .send(resp('live-1', [task('2', 'a', 'running')]))
      .expect(200);
    await waitFor(() => s.events.filter((e) => e.type === 'rows').length === 2, 'the change');
    const change = s.events.filter((e) => e.type === 'rows')[1];
    expect(change.data).toEqual([expect.objectContaining({ node_id: '2', task_name: 'a', status: 'running' })]);
    expect(BigInt(change.id!)).toBeGreaterThan(BigInt(first.id!));

    await t
      .http()
      .post('/api/v1/casts')
      .send([resp('live-1', [task('2', 'a', 'ready'), task('1', 'a', 'error')]), finish('live-1', 'error')])
      .expect(200);
    await waitFor(() => s.ended(), 'the stream to end with the run');
    const last = s.events.filter((e) => e.type === 'rows').pop()!;
    // The final commit changed every row (two reports, one close-out): nothing else, nothing twice.
    expect(last.data.map((r: { node_id: string; task_name: string; status: string }) => [r.node_id, r.task_name, r.status]).sort()).toEqual(
      [
        ['1', 'a', 'error'],
        ['1', 'b', 'skipped'],
        ['2', 'a', 'ready'],
      ],
    );
    expect(s.events.pop()).toMatchObject({ type: 'end', data: { status: 'error' } });

    // Resuming from an id sends only what came after it.
    const again = open(port, `/api/v1/transactions/${id}/deployment_history/stream`, { 'Last-Event-ID': change.id! });
    await waitFor(() => again.ended(), 'the resumed stream to end');
    const resumed = again.events.filter((e) => e.type === 'rows').flatMap((e) => e.data);
    expect(resumed).toHaveLength(3);
    const fromStart = open(port, `/api/v1/transactions/${id}/deployment_history/stream?since=${last.id}`);
    await waitFor(() => fromStart.ended(), 'a stream with nothing new to end');
    expect(fromStart.events.filter((e) => e.type === 'rows')).toEqual([]);
  });

  it('answers 404 for an unknown run and 400 for a bad since', async () => {
    await t.http().get('/api/v1/transactions/999999/deployment_history/stream').expect(404);
    await t.http().get('/api/v1/transactions/1/deployment_history/stream?since=abc').expect(400);
  });
});
