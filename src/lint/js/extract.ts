/**
 * The JavaScript/TypeScript front end: walks an ESTree program (from oxc-parser in the CLI,
 * from ESLint's parser in the plugin: the same code serves both) and returns the Redis calls
 * it can attribute to a client, with their keys, function scopes and pipelines.
 */
import { LineIndex, parseSuppression } from '../source.js';
import type { FileFacts, Language, RedisCall, Suppression } from '../types.js';
import { calleeName, memberPath, rangeOf, unwrap, type EsNode } from './ast.js';
import { classifyCall, queuedCommands, type CallShape } from './calls.js';
import { BATCH_METHODS, CLIENT_MODULES, type Receiver } from './clients.js';
import { keyExpr, type Constants } from './keys.js';
import { Receivers } from './receivers.js';

export interface EsComment {
  type: string;
  value: string;
  start?: number;
  end?: number;
  range?: [number, number];
}

export interface JsInput {
  program: EsNode;
  comments: readonly EsComment[];
  source: string;
  language: Language;
}

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);
/** Fields that hold no code worth walking (positions, parents, types). */
const SKIP_FIELDS = new Set([
  'type',
  'start',
  'end',
  'range',
  'loc',
  'parent',
  'typeAnnotation',
  'returnType',
  'typeParameters',
  'typeArguments',
  'superTypeArguments',
]);
const CONST_INIT = new Set(['Literal', 'TemplateLiteral', 'BinaryExpression']);

/** The client library a file imports or requires, if any (named after the first one found). */
function fileClient(program: EsNode): string | undefined {
  for (const stmt of program.body as EsNode[]) {
    if (stmt.type === 'ImportDeclaration') {
      const from = (stmt.source as EsNode).value as string;
      if (Object.hasOwn(CLIENT_MODULES, from)) return CLIENT_MODULES[from];
    }
    if (stmt.type === 'VariableDeclaration') {
      for (const d of stmt.declarations as EsNode[]) {
        const init = unwrap(d.init as EsNode | undefined);
        if (init?.type === 'CallExpression' && calleeName(init.callee as EsNode) === 'require') {
          const from = ((init.arguments as EsNode[])[0] as EsNode | undefined)?.value;
          if (typeof from === 'string' && Object.hasOwn(CLIENT_MODULES, from)) return CLIENT_MODULES[from];
        }
      }
    }
  }
  return undefined;
}

class Walker {
  readonly calls: RedisCall[] = [];
  private readonly consts: Constants = new Map();
  private readonly receivers: Receivers;
  private readonly lines: LineIndex;
  private scopes = 0;
  private scope = 0;

  constructor(private readonly input: JsInput) {
    this.receivers = new Receivers(fileClient(input.program));
    this.lines = new LineIndex(input.source);
  }

  walk(node: EsNode): void {
    const isFunction = FUNCTION_TYPES.has(node.type);
    const outer = this.scope;
    if (isFunction) this.scope = ++this.scopes;
    this.visit(node);
    for (const field in node) {
      if (SKIP_FIELDS.has(field)) continue;
      const child = node[field];
      if (Array.isArray(child)) {
        for (const c of child) if (c !== null && typeof c === 'object' && typeof (c as EsNode).type === 'string') this.walk(c as EsNode);
      } else if (child !== null && typeof child === 'object' && typeof (child as EsNode).type === 'string') {
        this.walk(child as EsNode);
      }
    }
    this.scope = outer;
  }

  private visit(node: EsNode): void {
    switch (node.type) {
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        // Bound before the body is walked: some parsers list `body` before `params`.
        for (const param of node.params as EsNode[]) this.param(param);
        break;
      case 'VariableDeclaration':
        for (const d of node.declarations as EsNode[]) this.declare(d, node.kind === 'const');
        break;
      case 'AssignmentExpression': {
        const path = memberPath(node.left as EsNode);
        if (path !== undefined) this.receivers.bind(path, this.valueOf(node.right as EsNode), false);
        break;
      }
      case 'PropertyDefinition': {
        const key = node.key as EsNode;
        if (key.type === 'Identifier')
          this.receivers.bind(
            `this.${key.name as string}`,
            this.valueOf(node.value as EsNode | undefined) ?? this.receivers.typed(node.typeAnnotation as EsNode),
            false,
          );
        break;
      }
      case 'CallExpression':
        this.call(node);
        break;
    }
  }

  /** A typed parameter (`redis: Redis`), or a constructor parameter property (`private redis: Redis`). */
  private param(node: EsNode): void {
    const property = node.type === 'TSParameterProperty';
    let p = property ? (node.parameter as EsNode) : node;
    if (p.type === 'AssignmentPattern') p = p.left as EsNode;
    if (p.type !== 'Identifier' || !p.typeAnnotation) return;
    const value = this.receivers.typed(p.typeAnnotation as EsNode);
    this.receivers.bind(p.name as string, value, false);
    if (property) this.receivers.bind(`this.${p.name as string}`, value, false);
  }

  private valueOf(init: EsNode | undefined): Receiver | undefined {
    return this.receivers.created(init) ?? this.receivers.resolve(init);
  }

  private declare(d: EsNode, isConst: boolean): void {
    const id = d.id as EsNode;
    if (id.type !== 'Identifier') return;
    const name = id.name as string;
    const init = unwrap(d.init as EsNode | undefined);
    if (isConst && init && CONST_INIT.has(init.type)) this.consts.set(name, init);
    const value = this.valueOf(init) ?? this.receivers.typed(id.typeAnnotation as EsNode);
    // A name bound to something else (`const cache = new Map()`) is not a client by its name.
    const definite = !!init && (init.type === 'NewExpression' || init.type === 'ObjectExpression' || init.type === 'ArrayExpression');
    this.receivers.bind(name, value, definite);
  }

  private call(node: EsNode): void {
    const callee = unwrap(node.callee as EsNode);
    if (!callee || callee.type !== 'MemberExpression' || callee.computed) return;
    const method = calleeName(callee);
    const on = method !== undefined ? this.receivers.resolve(callee.object as EsNode) : undefined;
    if (!on || method === undefined) return;
    const args = node.arguments as EsNode[];
    const batched = on.kind === 'redis' && BATCH_METHODS.has(method);
    const shapes = batched ? queuedCommands(args, on) : classifyCall(method, args, on);
    const batch = batched ? rangeOf(node)[0] : on.batch;
    const [, end] = rangeOf(node);
    const [start] = rangeOf(callee.property as EsNode);
    for (const shape of shapes) {
      const [atStart, atEnd] = shape.at ? rangeOf(shape.at) : [start, end];
      this.calls.push(this.toCall(shape, batch, atStart, atEnd));
    }
  }

  private toCall(shape: CallShape, batch: number | undefined, start: number, end: number): RedisCall {
    const { keyArg, at: _at, ...rest } = shape;
    return {
      ...rest,
      key: keyExpr(keyArg, this.input.source, this.consts),
      span: this.lines.span(start, end),
      scope: this.scope,
      ...(batch !== undefined ? { batch } : {}),
    };
  }

  suppressions(): Suppression[] {
    const out: Suppression[] = [];
    for (const c of this.input.comments) {
      if (!c.value.includes('keywarden-ignore-next-line')) continue;
      const [start, end] = c.range ?? [c.start ?? 0, c.end ?? 0];
      const s = parseSuppression(c.value, this.lines.span(start, end));
      if (s) out.push(s);
    }
    return out;
  }
}

/** The Redis calls and suppressions of one JavaScript or TypeScript program. */
export function extractJs(input: JsInput): FileFacts {
  const walker = new Walker(input);
  walker.walk(input.program);
  const calls = walker.calls.sort((a, b) => a.span.line - b.span.line || a.span.column - b.span.column);
  return { language: input.language, calls, suppressions: walker.suppressions() };
}
