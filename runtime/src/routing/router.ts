/** The logical models and every route of each: the static table the selector works on. */
import type { ModelConfig } from '../config/schema';
import type { Route } from '../providers/types';
import type { ModelRoutes } from './route-table';

export class Router {
  constructor(private table: ReadonlyMap<string, ModelRoutes>) {}

  /** A new table (spoke addresses changed, config reloaded); requests in flight keep theirs. */
  replace(table: ReadonlyMap<string, ModelRoutes>): void {
    this.table = table;
  }

  model(name: string): ModelConfig | undefined {
    return this.table.get(name)?.model;
  }

  entry(name: string): ModelRoutes | undefined {
    return this.table.get(name);
  }

  models(): ModelConfig[] {
    return [...this.table.values()].map((m) => m.model);
  }

  allRoutes(): Route[] {
    return [...this.table.values()].flatMap((m) => m.groups.flat());
  }
}
