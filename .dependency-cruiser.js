/**
 * The runtime's layering (README "Layering"): a folder may import only from the layers
 * below it, never from a layer above or a sibling of its own layer, and no module may
 * take part in an import cycle. Type-only imports count: they couple as much.
 * Checked by `npm run lint` and tests/architecture/layers.test.ts.
 */
const LAYERS = [
  ['core'],
  ['config'],
  ['observability', 'quota', 'guardrails'],
  ['providers', 'tenants'],
  ['health'],
  ['routing', 'tiers'],
  ['stream'],
  ['gateway.ts'],
  ['api'],
  ['status'],
  ['app.ts'],
  ['entry'],
  ['lambda.ts'],
];

/** A path pattern for runtime folders and top-level files. */
const pathOf = (names) => `^runtime/src/(${names.map((n) => (n.endsWith('.ts') ? n.replace('.', '\\.') + '$' : `${n}/`)).join('|')})`;

const layerRules = LAYERS.flatMap((layer, rank) => {
  const above = LAYERS.slice(rank + 1).flat();
  return layer.map((name) => {
    const forbidden = [...above, ...layer.filter((other) => other !== name)];
    return {
      name: `layer-${name.replace('.ts', '')}`,
      comment: `${name} may import only from the layers below it: ${LAYERS.slice(0, rank).flat().join(', ') || 'nothing of ours'}`,
      severity: 'error',
      from: { path: pathOf([name]) },
      to: { path: pathOf(forbidden) },
    };
  });
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules.filter((rule) => rule.to.path !== '^runtime/src/()'),
    {
      name: 'no-circular',
      comment: 'An import cycle ties modules into one: break it by moving the shared part down.',
      severity: 'error',
      from: { path: '^runtime/src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: { path: '^runtime/src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['cjs', 'es6'],
    // Package subpath exports (hono/aws-lambda, ...), resolved as Node resolves them.
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['require', 'node', 'default', 'types'] },
  },
};
