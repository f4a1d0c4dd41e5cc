/**
 * Receiver resolution: which expressions hold a Redis client, a cache client, or a pipeline /
 * MULTI of one. Bindings are collected per file by name as the walk meets them (a declaration
 * precedes its uses in nearly all code), from constructors, factories, TypeScript types and,
 * last, names.
 */
import { BATCH_METHODS, CLIENT_TYPES, CONSTRUCTORS, FACTORIES, SAME_CLIENT_METHODS, clientByName, type Receiver } from './clients.js';
import { calleeName, memberPath, rangeOf, unwrap, type EsNode } from './ast.js';

export class Receivers {
  /** Dotted path (`redis`, `this.redis`, `pipe`) → what it holds. */
  private readonly bound = new Map<string, Receiver | null>();

  constructor(private readonly fileClient: string | undefined) {}

  /** What an expression holds, or undefined when it is not (known to be) a client. */
  resolve(expr: EsNode | undefined): Receiver | undefined {
    const n = unwrap(expr);
    if (!n) return undefined;
    if (n.type === 'Identifier' || n.type === 'MemberExpression') {
      const path = memberPath(n);
      if (path !== undefined) {
        const known = this.bound.get(path);
        if (known !== undefined) return known ?? undefined;
        const last = path.slice(path.lastIndexOf('.') + 1);
        const field = path.startsWith('this.') ? undefined : this.bound.get(`this.${last}`);
        if (field) return field;
        return clientByName(last, this.fileClient);
      }
      return undefined;
    }
    if (n.type === 'CallExpression') return this.resolveCall(n);
    return undefined;
  }

  /** `client.multi()`, `client.duplicate()`, and calls chained on a batch (`multi().set(…)`). */
  private resolveCall(call: EsNode): Receiver | undefined {
    const callee = unwrap(call.callee as EsNode);
    if (!callee || callee.type !== 'MemberExpression') return undefined;
    const method = calleeName(callee);
    const on = this.resolve(callee.object as EsNode);
    if (!on || method === undefined) return undefined;
    if (on.kind === 'redis' && BATCH_METHODS.has(method)) return { ...on, batch: rangeOf(call)[0] };
    if (SAME_CLIENT_METHODS.has(method)) return on;
    if (on.batch !== undefined && method !== 'exec' && method !== 'execAsPipeline') return on;
    return undefined;
  }

  /** What a `new …` or call creating a client makes, or undefined. */
  created(init: EsNode | undefined): Receiver | undefined {
    const n = unwrap(init);
    if (!n) return undefined;
    if (n.type === 'NewExpression') {
      const name = calleeName(n.callee as EsNode);
      const made = name !== undefined ? CONSTRUCTORS[name] : undefined;
      return made && { ...made, defaultTtl: made.kind === 'cache' && hasTtlOption(n.arguments as EsNode[]) };
    }
    if (n.type === 'CallExpression') {
      const name = calleeName(n.callee as EsNode);
      const made = name !== undefined && Object.hasOwn(FACTORIES, name) ? FACTORIES[name] : undefined;
      if (made) return { ...made, defaultTtl: made.kind === 'cache' && hasTtlOption(n.arguments as EsNode[]) };
      return this.resolveCall(n);
    }
    return undefined;
  }

  /** Record what a name or path holds; `null` marks a name known not to be a client. */
  bind(path: string, value: Receiver | undefined, definite: boolean): void {
    if (value) this.bound.set(path, value);
    else if (definite && !this.bound.has(path)) this.bound.set(path, null);
  }

  /** A client declared by its TypeScript type: `redis: Redis`, `private cache: Keyv`. */
  typed(annotation: EsNode | undefined): Receiver | undefined {
    let t = annotation;
    if (t?.type === 'TSTypeAnnotation') t = t.typeAnnotation as EsNode;
    if (!t || t.type !== 'TSTypeReference') return undefined;
    const name = t.typeName as EsNode;
    const id = name.type === 'Identifier' ? (name.name as string) : name.type === 'TSQualifiedName' ? ((name.right as EsNode).name as string) : undefined;
    const made = id !== undefined && Object.hasOwn(CLIENT_TYPES, id) ? CLIENT_TYPES[id] : undefined;
    return made && { ...made };
  }
}

/** A cache created with a default TTL (`new Keyv({ ttl })`, `createCache({ ttl })`). */
function hasTtlOption(args: EsNode[] | undefined): boolean {
  return (args ?? []).some((a) => {
    const n = unwrap(a);
    if (!n || n.type !== 'ObjectExpression') return false;
    return (n.properties as EsNode[]).some((p) => {
      if (p.type !== 'Property') return false;
      const key = p.key as EsNode;
      const value = unwrap(p.value as EsNode);
      return (key.name === 'ttl' || key.value === 'ttl') && !(value?.type === 'Literal' && (value.value === 0 || value.value === null));
    });
  });
}
