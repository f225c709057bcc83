import { Metrics } from '../../src/common/metrics/metrics.service';
import { CastRejected } from '../../src/receiver/cast';
import { CastsService } from '../../src/receiver/casts.service';
import type { HttpCastBatcher } from '../../src/receiver/http-batcher';
import { ReceiverStats } from '../../src/receiver/receiver-stats';
import { sampleOf } from '../support/metrics';

/** Cast counters are tallied by their labels and handed to prom-client when read (Tally in metrics.service.ts). */
describe('per-cast counters', () => {
  /** A series' value as /metrics serves it (the metrics read, so the tallies handed over). */
  const value = async (m: Metrics, series: string) => sampleOf(await m.registry.metrics(), series);

  it('reads every count, by labels, however often it is read', async () => {
    const m = new Metrics();
    for (let i = 0; i < 3; i++) m.castReceived('transaction_resp', 'bus');
    m.castReceived('transaction_resp', 'http');
    m.castApplied('applied');
    expect(await value(m, 'dh_casts_received_total{method="transaction_resp",source="bus"}')).toBe(3);
    expect(await value(m, 'dh_casts_received_total{method="transaction_resp",source="http"}')).toBe(1);
    // Read again with nothing new: the same; then more counted: added, not replaced.
    expect(await value(m, 'dh_casts_received_total{method="transaction_resp",source="bus"}')).toBe(3);
    m.castReceived('transaction_resp', 'bus');
    m.castApplied('applied');
    m.castApplied('duplicate');
    expect(await value(m, 'dh_casts_received_total{method="transaction_resp",source="bus"}')).toBe(4);
    expect(await value(m, 'dh_casts_applied_total{outcome="applied"}')).toBe(2);
    expect(await value(m, 'dh_casts_applied_total{outcome="duplicate"}')).toBe(1);
    expect(await m.registry.metrics()).toMatch(/dh_casts_received_total\{method="transaction_resp",source="bus"\} 4/);
  });
});

describe('casts counted by method', () => {
  it('counts a method it does not know as "unknown": a sender cannot add label values (and memory) without bound', async () => {
    const metrics = new Metrics();
    const casts = new CastsService({} as HttpCastBatcher, new ReceiverStats(metrics));
    for (let i = 0; i < 500; i++) {
      expect(() => casts.parse({ method: `made_up_${i}`, args: {} }, 'bus')).toThrow(CastRejected);
    }
    expect(() => casts.parse({ method: 42, args: {} }, 'bus')).toThrow(CastRejected);
    expect(() => casts.parse({ method: 'deploy_resp', args: {} }, 'bus')).toThrow(CastRejected);
    const metric = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'dh_casts_received_total')!;
    expect(metric.values.map((v) => [v.labels.method, v.value])).toEqual([
      ['unknown', 501],
      ['deploy_resp', 1],
    ]);
  });
});
