import { InvalidArgumentError } from 'commander';
import { UsageError } from '../cli/errors';
import { MASTER_TASKS } from './fixture';
import { nodeChain, nodeRoles } from './run-plan';

/**
 * What the simulator makes happen on purpose, so that each issue #15 answer has something to show:
 * `--slow TASK=FACTOR` (the task's duration × FACTOR on every node of every run: a regression) and
 * `--flaky TASK=RATE` (the task fails with probability RATE per node per run: a flaky task).
 */

/** Task name → factor (--slow) or rate (--flaky). */
export type TaskFactors = Readonly<Record<string, number>>;

interface Rule {
  flag: string;
  /** What the number must be, said in the error. */
  expected: string;
  ok: (n: number) => boolean;
}

const SLOW: Rule = { flag: '--slow', expected: 'a factor above 0', ok: (n) => n > 0 };
const FLAKY: Rule = { flag: '--flaky', expected: 'a rate from 0 to 1', ok: (n) => n >= 0 && n <= 1 };

/** A commander parser of a repeatable `TASK=NUMBER` option, into one map (a task named twice is a mistake). */
function taskNumbers(rule: Rule) {
  return (value: string, previous: TaskFactors | undefined): TaskFactors => {
    const m = /^([^=\s]+)=(.+)$/.exec(value.trim());
    if (!m)
      throw new InvalidArgumentError(
        `${rule.flag} takes TASK=NUMBER (e.g. ${rule.flag} netconfig=${rule === SLOW ? 3 : 0.3}), got '${value}'.`,
      );
    const [, task, text] = m;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || !rule.ok(n)) {
      throw new InvalidArgumentError(`${rule.flag} ${task}=${text}: the number must be ${rule.expected}.`);
    }
    if (previous && task in previous) throw new InvalidArgumentError(`${rule.flag} names ${task} twice.`);
    return { ...previous, [task]: n };
  };
}

export const slowOption = taskNumbers(SLOW);
export const flakyOption = taskNumbers(FLAKY);

/** The names of the tasks a simulation with these options runs: the nodes' (controllers first), then the master's. */
export function simulatedTaskNames(nodes: number, tasks: number): string[] {
  const roles = new Set(nodeRoles(nodes));
  const names = [...[...roles].flatMap((r) => nodeChain(r, tasks).map((t) => t.id)), ...MASTER_TASKS.map((t) => t.id)];
  return [...new Set(names)];
}

/** Every task named by --slow and --flaky must be one the simulation runs; else a usage error listing (some of) them. */
export function checkInjectedTasks(o: { nodes: number; tasks: number; slow?: TaskFactors; flaky?: TaskFactors }): void {
  const known = simulatedTaskNames(o.nodes, o.tasks);
  for (const [flag, map] of [
    ['--slow', o.slow],
    ['--flaky', o.flaky],
  ] as const) {
    const unknown = Object.keys(map ?? {}).filter((t) => !known.includes(t));
    if (!unknown.length) continue;
    const shown = known.slice(0, 12).join(', ') + (known.length > 12 ? `, ... (${known.length - 12} more)` : '');
    throw new UsageError(
      `${flag}: no task ${unknown.map((t) => `'${t}'`).join(', ')} in this simulation (--nodes ${o.nodes} --tasks ${o.tasks}); ` +
        `its tasks: ${shown}`,
    );
  }
}
