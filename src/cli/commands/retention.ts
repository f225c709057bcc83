import { Command } from 'commander';
import { integer } from '../args';
import { act } from '../context';
import { UsageError } from '../errors';
import { withOutput } from '../options';
import { renderOne, Row } from '../output';

/** `retention`: delete old runs (admin). */

interface RetentionOptions {
  olderThanDays?: number;
  keepRuns?: number;
  dryRun?: boolean;
  compact?: boolean;
}

export function register(program: Command): void {
  withOutput(
    program
      .command('retention')
      .description(
        'delete whole finished runs that ended more than D days ago and/or beyond the last N of each cluster (never one in progress)',
      )
      .option('--older-than-days <days>', 'runs that ended more than this many days ago', integer('--older-than-days', 0))
      .option('--keep-runs <n>', 'keep only the last N runs of each cluster', integer('--keep-runs', 1))
      .option('--dry-run', 'report what would be deleted, delete nothing')
      .option('--compact', 'give the freed disk space back to the system (rewrites the history table)'),
  ).action(
    act<[], RetentionOptions>(async (ctx, _args, o) => {
      if (o.olderThanDays === undefined && o.keepRuns === undefined)
        throw new UsageError('say what to delete: --older-than-days and/or --keep-runs');
      const r = await ctx.api.post<Row & { clusters: unknown }>('retention', {
        older_than_days: o.olderThanDays,
        keep_runs: o.keepRuns,
        dry_run: o.dryRun ? 'true' : undefined,
        compact: o.compact ? 'true' : undefined,
      });
      const mb = (b: unknown) => `${(Number(b) / 2 ** 20).toFixed(1)} MB`;
      const { clusters: _perCluster, ...flat } = r;
      ctx.print(renderOne({ ...flat, disk_before: mb(r.disk_before_bytes), disk_after: mb(r.disk_after_bytes) }, ctx.out));
    }),
  );
}
