/**
 * zod/mini objects parsed the way classic zod parses them. Mini interprets object shapes
 * (so that bundles carry no code generation); classic compiles one parser per shape,
 * which is faster and showed on the request path. The compiled twin is built
 * from the mini schema's own definition (shape, strictness, messages, checks), so its
 * issues and its type are the mini schema's.
 */
import * as z from 'zod/mini';
import * as core from 'zod/v4/core';

const CompiledObject = core.$constructor('ZodMiniObject', (inst: z.ZodMiniObject, def: core.$ZodObjectDef) => {
  core.$ZodObjectJIT.init(inst, def);
  z.ZodMiniType.init(inst, def);
  core.util.defineLazy(inst, 'shape', () => def.shape);
});

export function compiled<T extends z.ZodMiniObject>(schema: T): T {
  return new CompiledObject(schema._zod.def) as unknown as T;
}
