import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Real Fuel 9.0 data from ../shared/data/fuel-9.0 (see its SOURCE.md). */
const DIR = join(__dirname, '../../../shared/data/fuel-9.0');

export interface FuelTask {
  id: string;
  type: string;
  requires: string[];
  parameters: Record<string, unknown>;
}

export function fuelTasks(): Map<string, FuelTask> {
  const list: FuelTask[] = JSON.parse(readFileSync(join(DIR, 'fuel-9.0-deployment-tasks.json'), 'utf8'));
  return new Map(list.map((t) => [t.id, t]));
}

/** The 6-node environment's per-node task lists (keys '1'..'6', 'master', 'null'), as a tasks_graph. */
export function fuelEnvironmentGraph(): Record<
  string,
  Array<{ id: string; type: string; requires: string[]; parameters: Record<string, unknown> }>
> {
  const env = JSON.parse(readFileSync(join(DIR, 'example-environment.json'), 'utf8')) as { tasks_by_node: Record<string, string[]> };
  const tasks = fuelTasks();
  return Object.fromEntries(
    Object.entries(env.tasks_by_node).map(([node, ids]) => [
      node,
      ids.map((id) => {
        const t = tasks.get(id)!;
        return { id, type: t.type, requires: t.requires, parameters: t.parameters };
      }),
    ]),
  );
}
