/**
 * What the docs and the schemas say, in one vocabulary of key paths (`models[].targets[].price`),
 * so a test can hold the README and docs/infra.md to the config schemas, and the README to
 * the error codes and routes the runtime has.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';

export const ROOT = join(__dirname, '..', '..');
export const readDoc = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** The part of zod's (and zod/mini's) definition a walk over keys needs. */
interface ZodLike {
  _zod: { def: { type: string; shape?: Record<string, ZodLike>; innerType?: ZodLike; element?: ZodLike; options?: ZodLike[]; valueType?: ZodLike; in?: ZodLike } };
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional']);

/** Every key a user may set, as a path; keys typed `never` (refused by design) are left out. */
export function schemaKeyPaths(schema: unknown, prefix = '', out = new Set<string>()): Set<string> {
  const def = (schema as ZodLike)._zod.def;
  if (WRAPPERS.has(def.type) && def.innerType) return schemaKeyPaths(def.innerType, prefix, out);
  if (def.type === 'pipe' && def.in) return schemaKeyPaths(def.in, prefix, out);
  if (def.type === 'array' && def.element) return schemaKeyPaths(def.element, `${prefix}[]`, out);
  if (def.type === 'record' && def.valueType) {
    // Keys of a record are the user's own (`limits: { "*": ... }`): `*` stands for any of them.
    out.add(`${prefix}.*`);
    return schemaKeyPaths(def.valueType, `${prefix}.*`, out);
  }
  if (def.type === 'union') for (const option of def.options ?? []) schemaKeyPaths(option, prefix, out);
  if (def.type === 'object') {
    for (const [key, value] of Object.entries(def.shape ?? {})) {
      if (isNever(value)) continue;
      const path = prefix ? `${prefix}.${key}` : key;
      out.add(path);
      schemaKeyPaths(value, path, out);
    }
  }
  return out;
}

function isNever(schema: ZodLike): boolean {
  const def = schema._zod.def;
  return def.type === 'never' || (WRAPPERS.has(def.type) && def.innerType !== undefined && isNever(def.innerType));
}

/** A path as the schema spells it: a key of a record (`tags.cost-center`) becomes `*` (`tags.*`). */
export function asSchemaPath(path: string, schemaPaths: ReadonlySet<string>): string {
  let built = '';
  for (const part of path.split('.')) {
    const next = built ? `${built}.${part}` : part;
    built = schemaPaths.has(next) || !schemaPaths.has(`${built}.*`) ? next : `${built}.*`;
  }
  return built;
}

/** A documented key: its path and the text that documents it (a table row, a YAML line with its comment). */
export interface DocEntry {
  path: string;
  text: string;
}

/** The section of a markdown document from a heading to the next heading of the same level. */
export function section(markdown: string, heading: string): string {
  const level = /^#+/.exec(heading)?.[0] ?? '#';
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no section ${heading}`);
  const next = markdown.slice(start + heading.length + 2).search(new RegExp(`\\n${level} `));
  return next < 0 ? markdown.slice(start) : markdown.slice(start, start + heading.length + 2 + next);
}

/** The `| \`key\`, \`key2\` | meaning |` rows of a markdown text: each backticked key of the first cell. */
export function tableRows(markdown: string): DocEntry[] {
  const entries: DocEntry[] = [];
  for (const line of markdown.split('\n')) {
    const first = /^\| ([^|]+) \|/.exec(line)?.[1];
    if (!first?.startsWith('`')) continue;
    for (const m of first.matchAll(/`([^`]+)`/g)) entries.push({ path: m[1].replace(/\[\]$/, '').replace(/^ai-gateway:/, ''), text: line });
  }
  return entries;
}

/** The keys of a YAML document as paths, each with its source line (comments included). */
export function yamlKeyPaths(source: string, keyPrefix = ''): DocEntry[] {
  const lines = source.split('\n');
  const lineOf = (offset: number) => lines[source.slice(0, offset).split('\n').length - 1];
  const entries: DocEntry[] = [];
  const walk = (node: unknown, prefix: string) => {
    if (isSeq(node)) for (const item of node.items) walk(item, `${prefix}[]`);
    if (!isMap(node)) return;
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      let key = String(pair.key.value);
      if (prefix === '' && keyPrefix) {
        if (!key.startsWith(keyPrefix)) continue;
        key = key.slice(keyPrefix.length);
      }
      const path = prefix ? `${prefix}.${key}` : key;
      entries.push({ path, text: lineOf((pair.key as YamlNode).range?.[0] ?? 0) });
      walk(pair.value, path);
    }
  };
  walk(parseDocument(source).contents, '');
  return entries;
}

/** The YAML code blocks of a markdown text. */
export const yamlBlocks = (markdown: string): string[] => [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

/**
 * Whether a key path is documented: an entry names it, or an entry names an ancestor and
 * its text names every key below it (`{ auto, affinity }` in the row of `models[].promptCache`).
 */
export function isDocumented(path: string, entries: readonly DocEntry[]): boolean {
  return entries.some((e) => {
    if (e.path === path) return true;
    if (!path.startsWith(`${e.path}.`) && !path.startsWith(`${e.path}[]`)) return false;
    const below = path
      .slice(e.path.length)
      .split(/[.[\]*]+/)
      .filter(Boolean);
    return below.every((key) => new RegExp(`\\b${key}\\b`).test(e.text));
  });
}

/**
 * The error codes the runtime's source can put in an answer: the code argument of every
 * GatewayError, badRequest and notFound, the code of a provider's refusal (passed on to the
 * client), and the `code` of an error body written by hand.
 */
export function errorCodesInSource(files: readonly string[]): Set<string> {
  const codes = new Set<string>();
  const sources = files.map((file) => ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true));
  // Codes kept in constants (`const CAPACITY_RESERVED = 'capacity_reserved'`), by name: names are unique enough here.
  const constants = new Map<string, string>();
  const collect = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && ts.isStringLiteral(node.initializer)) constants.set(node.name.text, node.initializer.text);
    ts.forEachChild(node, collect);
  };
  sources.forEach(collect);
  const literals = (node: ts.Expression | undefined): string[] => {
    if (!node) return [];
    if (ts.isStringLiteral(node)) return [node.text];
    if (ts.isIdentifier(node)) return constants.has(node.text) ? [constants.get(node.text) as string] : [];
    if (ts.isParenthesizedExpression(node)) return literals(node.expression);
    if (ts.isConditionalExpression(node)) return [...literals(node.whenTrue), ...literals(node.whenFalse)];
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken) return literals(node.right);
    return [];
  };
  const codeProperty = (node: ts.Expression | undefined): ts.Expression | undefined => {
    if (!node || !ts.isObjectLiteralExpression(node)) return undefined;
    const prop = node.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText() === 'code');
    return prop?.initializer;
  };
  for (const source of sources) {
    const visit = (node: ts.Node): void => {
      if (ts.isNewExpression(node) || ts.isCallExpression(node)) {
        const callee = node.expression.getText();
        const args = node.arguments ?? ts.factory.createNodeArray();
        const add = (expr: ts.Expression | undefined) => literals(expr).forEach((c) => codes.add(c));
        if (ts.isNewExpression(node) && callee === 'GatewayError') add(args[3]);
        if (callee === 'super' && extendsGatewayError(node)) add(args[3]);
        if (callee === 'badRequest') add(args[2]);
        if (callee === 'notFound') add(args[1]);
        if (ts.isNewExpression(node) && callee === 'ProviderError' && literals(args[0])[0] === 'refused') add(codeProperty(args[2]));
      }
      if (ts.isObjectLiteralExpression(node)) {
        const names = node.properties.map((p) => p.name?.getText());
        if (names.includes('message') && names.includes('type') && names.includes('code') && names.includes('param')) literals(codeProperty(node)).forEach((c) => codes.add(c));
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return codes;
}

/** Whether a `super(...)` call is in a class that extends GatewayError (its arguments are GatewayError's). */
function extendsGatewayError(node: ts.Node): boolean {
  let at: ts.Node | undefined = node.parent;
  while (at && !ts.isClassLike(at)) at = at.parent;
  return at?.heritageClauses?.some((h) => h.types.some((t) => t.expression.getText() === 'GatewayError')) ?? false;
}
