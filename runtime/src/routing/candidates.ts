/**
 * The routes one request may still try, in order: the selector's target groups (primary,
 * then fallbacks; equivalent routes within a group), minus the routes the request has
 * excluded and the targets a context_length_exceeded rules out.
 */
import type { ModelConfig, TargetConfig } from '../config/schema';
import type { Route } from '../providers/types';

/** The target (config entry) a route serves. */
export function targetOf(model: ModelConfig, route: Route): TargetConfig | undefined {
  return model.targets.find((t) => t.provider === route.provider.id && t.model === route.model);
}

/**
 * What context_length_exceeded answers taught one request: never the same provider model
 * again, and no target whose declared window is not larger than one that was too small.
 * A target without `contextTokens` may be larger: it is tried.
 */
export class ContextWindows {
  private failed: Set<string> | undefined;
  /** The largest declared window that was too small. */
  private tooSmall = 0;

  constructor(private readonly model: ModelConfig) {}

  get any(): boolean {
    return this.failed !== undefined;
  }

  tooLong(route: Route): void {
    (this.failed ??= new Set()).add(route.model);
    const size = targetOf(this.model, route)?.contextTokens;
    if (size !== undefined) this.tooSmall = Math.max(this.tooSmall, size);
  }

  mayTry(route: Route): boolean {
    if (!this.failed) return true;
    if (this.failed.has(route.model)) return false;
    const size = targetOf(this.model, route)?.contextTokens;
    return size === undefined || size > this.tooSmall;
  }
}

export class Candidates {
  private g = 0;
  private i = 0;

  constructor(
    private readonly groups: ReadonlyArray<readonly Route[]>,
    private readonly excluded: ReadonlySet<string>,
    private readonly windows: ContextWindows,
  ) {}

  /** The next route to try, left in place (those it passes over stay unusable: exclusions only grow while a cursor lives). */
  peek(): Route | undefined {
    for (; this.g < this.groups.length; this.g++, this.i = 0) {
      const group = this.groups[this.g];
      for (; this.i < group.length; this.i++) {
        if (this.usable(group[this.i])) return group[this.i];
      }
    }
    return undefined;
  }

  /** The next route to try, taken. */
  next(): Route | undefined {
    const route = this.peek();
    if (route) this.i++;
    return route;
  }

  /** Whether a route equivalent to `route` (its target's, not yet reached) may still be tried. */
  equivalentLeft(route: Route): boolean {
    const group = this.groups[this.g];
    if (!group?.includes(route)) return false;
    for (let j = this.i; j < group.length; j++) if (group[j] !== route && this.usable(group[j])) return true;
    return false;
  }

  private usable(route: Route): boolean {
    return !this.excluded.has(route.key) && this.windows.mayTry(route);
  }
}
