/**
 * The value of one series in Prometheus text (`/metrics`): `series` as it is written before the value,
 * name and labels (`dh_runs_deleted_total{cause="request"}`, `dh_store_available`); undefined when the
 * service has no sample of it (yet).
 */
export function sampleOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The sum of a metric's series whose labels include `label` (`source="bus"`): every other label summed over; 0 without one. */
export function sumOf(text: string, name: string, label: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.slice(0, l.indexOf('}')).includes(label))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}
