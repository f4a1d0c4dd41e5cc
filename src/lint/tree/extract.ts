/**
 * The tree-sitter front end: one walk for Python, Go, Java and Ruby, driven by a Dialect.
 * It binds names to clients as it meets assignments, parameters and declarations (by name,
 * per file: a declaration precedes its uses in nearly all code), resolves each call's
 * receiver, and hands the calls it attributes to a client to the shared rules.
 */
import { LineIndex, parseSuppression } from '../source.js';
import type { FileFacts, RedisCall } from '../types.js';
import type { CallParts, Dialect, TreeReceiver } from './dialect.js';
import { parse, type TsNode } from './runtime.js';

const MAX_DEPTH = 8;

class TreeWalker {
  readonly calls: RedisCall[] = [];
  readonly comments: TsNode[] = [];
  private readonly bound = new Map<string, TreeReceiver | null>();
  private readonly consts = new Map<string, TsNode>();
  private readonly lines: LineIndex;
  private scopes = 0;
  private scope = 0;

  constructor(
    private readonly d: Dialect,
    source: string,
  ) {
    this.lines = new LineIndex(source);
  }

  /**
   * Depth-first with a tree cursor: only the node types the dialect cares about are turned into
   * node objects (each one costs a trip across the WASM boundary).
   */
  walk(root: TsNode): void {
    const interesting = new Set([...this.d.functionTypes, ...this.d.commentTypes, ...this.d.callTypes, ...this.d.bindingTypes]);
    const cursor = root.walk();
    /** Functions we are inside: their depth, and the scope outside them. */
    const open: { depth: number; outer: number }[] = [];
    let depth = 0;
    try {
      for (;;) {
        if (cursor.nodeIsNamed && interesting.has(cursor.nodeType)) {
          const node = cursor.currentNode;
          if (this.d.functionTypes.has(node.type)) {
            open.push({ depth, outer: this.scope });
            this.scope = ++this.scopes;
          }
          this.visit(node);
        }
        if (cursor.gotoFirstChild()) {
          depth++;
          continue;
        }
        for (;;) {
          if (cursor.gotoNextSibling()) {
            this.leave(open, depth, true);
            break;
          }
          if (!cursor.gotoParent()) return;
          depth--;
          this.leave(open, depth, false);
        }
      }
    } finally {
      cursor.delete();
    }
  }

  /** Close the function scopes the cursor has moved out of. */
  private leave(open: { depth: number; outer: number }[], depth: number, sibling: boolean): void {
    while (open.length > 0 && (sibling ? open[open.length - 1].depth >= depth : open[open.length - 1].depth > depth)) this.scope = open.pop()!.outer;
  }

  private visit(node: TsNode): void {
    if (this.d.commentTypes.has(node.type)) this.comments.push(node);
    for (const b of this.d.bindings(node)) {
      const value = b.value ? this.valueOf(b.value) : undefined;
      const typed = b.type !== undefined ? this.d.typed(b.type) : undefined;
      // A typed pipeline (Go's `pipe redis.Pipeliner`, Jedis' `Transaction t`) is one batch per binding.
      const recv = value ?? (typed && typed.batch !== undefined ? { ...typed, batch: node.startIndex } : typed);
      if (recv) this.bound.set(b.name, recv);
      else if (b.value && !this.bound.has(b.name)) this.bound.set(b.name, null);
    }
    const constant = this.d.constant(node);
    if (constant) this.consts.set(constant.name, constant.value);
    if (this.d.callTypes.has(node.type)) this.call(node);
  }

  private valueOf(value: TsNode): TreeReceiver | undefined {
    return this.d.created(value) ?? this.resolve(value, 0);
  }

  resolve(expr: TsNode | null, depth: number): TreeReceiver | undefined {
    if (!expr || depth > MAX_DEPTH) return undefined;
    if (this.d.callTypes.has(expr.type)) {
      const parts = this.d.callParts(expr);
      if (!parts) return undefined;
      const created = this.d.created(expr);
      if (created) return created;
      const on = this.resolve(parts.receiver, depth + 1);
      if (!on) return undefined;
      return this.d.derive(parts.method, on, expr) ?? (on.batch !== undefined ? on : undefined);
    }
    const made = this.d.created(expr);
    if (made) return made;
    const name = this.d.nameOf(expr);
    if (name === undefined) return undefined;
    const known = this.bound.get(name);
    if (known !== undefined) return known ?? undefined;
    return this.d.clientByName(name);
  }

  private call(node: TsNode): void {
    const parts = this.d.callParts(node);
    if (!parts) return;
    const on = this.resolve(parts.receiver, 0);
    if (!on) return;
    const derived = this.d.derive(parts.method, on, node);
    if (derived?.batch !== undefined && parts.block) this.bindBlock(parts, derived);
    for (const shape of this.d.classify(parts, on)) {
      const key = this.keyOf(shape.keyArg);
      const span = this.lines.span(parts.at.startIndex, node.endIndex);
      this.calls.push({
        command: shape.command,
        ttl: shape.ttl,
        client: on.client,
        key,
        span,
        scope: this.scope,
        ...(on.batch !== undefined ? { batch: on.batch } : {}),
        ...(shape.zeroHint ? { zeroHint: shape.zeroHint } : {}),
      });
    }
  }

  /** `redis.pipelined do |pipe| … end`: the block's parameters are the batch. */
  private bindBlock(parts: CallParts, batch: TreeReceiver): void {
    const params = parts.block?.childForFieldName('parameters');
    for (const p of params?.namedChildren ?? []) if (p && p.type === 'identifier') this.bound.set(p.text, batch);
  }

  private keyOf(arg: TsNode | undefined): RedisCall['key'] {
    if (!arg) return { text: '', glob: '*', exact: false };
    const { glob, exact } = this.d.glob(arg, (name) => this.consts.get(name), 0);
    return { text: arg.text.replace(/\s+/g, ''), glob: glob.replace(/\*{2,}/g, '*'), exact };
  }

  suppressions(): FileFacts['suppressions'] {
    return this.comments.flatMap((c) => {
      const text = this.d.commentText(c);
      if (!text.includes('keywarden-ignore-next-line')) return [];
      const s = parseSuppression(text, this.lines.span(c.startIndex, c.endIndex));
      return s ? [s] : [];
    });
  }
}

/** Facts for one file in a tree-sitter language (its grammar loaded). */
export function extractTree(d: Dialect, source: string): FileFacts {
  const { root, dispose } = parse(d.grammar, source);
  try {
    if (root.hasError) {
      const bad = root.descendantsOfType('ERROR')[0];
      const where = bad ? ` at line ${bad.startPosition.row + 1}` : '';
      return { language: d.language, calls: [], suppressions: [], parseError: `syntax error${where}` };
    }
    const walker = new TreeWalker(d, source);
    walker.walk(root);
    const calls = walker.calls.sort((a, b) => a.span.line - b.span.line || a.span.column - b.span.column);
    return { language: d.language, calls, suppressions: walker.suppressions() };
  } finally {
    dispose();
  }
}
