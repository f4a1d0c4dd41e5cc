/**
 * undo against a real 3-master cluster whose slots moved after fix (a finished resharding, a
 * slot still migrating, a journal naming a node that is gone, a slot moving during undo, a
 * master down), and undo's progress bar on a terminal (none on a pipe). The cluster is
 * shared by the file: each test uses its own key prefix; the test that kills a master runs last.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cluster, type Redis } from 'ioredis';
import { undoFix } from '../../src/fix/index.js';
import { connectTarget } from '../../src/target/connect.js';
import { keySlot, parseMasterSlots } from '../../src/target/slots.js';
import { resolveTarget } from '../../src/target/spec.js';
import { startCluster, startRedis, type RedisCluster, type RedisServer } from '../support/redis.js';
import { cli, fill, ttlCounts } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'keywarden-undo-'));
const HOUR = 3_600_000;

describe('undo on a cluster resharded since fix', () => {
  let cluster: RedisCluster;
  let app: Cluster;
  const admin = new Map<number, Redis>();
  const ids = new Map<number, string>();

  before(async () => {
    cluster = await startCluster();
    app = new Cluster([{ host: '127.0.0.1', port: cluster.masters[0].port }]);
    // The last test stops a master: the client's reconnect attempts are expected noise.
    app.on('error', () => undefined);
    for (const m of cluster.masters) {
      const c = m.client();
      admin.set(m.port, c);
      ids.set(m.port, (await c.call('CLUSTER', 'MYID')) as string);
    }
  });
  after(async () => {
    app.disconnect();
    for (const c of admin.values()) c.disconnect();
    await cluster.stop();
  });

  /** Port of the master serving `slot`, by CLUSTER SLOTS. */
  async function ownerOf(slot: number): Promise<number> {
    const ranges = (await admin.get(cluster.masters[0].port)!.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    assert.ok(range, `slot ${slot} is served by no master`);
    return range[2][1];
  }

  /** A master other than the one serving `slot`. */
  async function otherThanOwner(slot: number): Promise<number> {
    const owner = await ownerOf(slot);
    return cluster.masters.map((m) => m.port).find((p) => p !== owner)!;
  }

  /**
   * Move `slot` to master `to` the way redis-cli --cluster reshard does: IMPORTING on the
   * destination, MIGRATING on the source, MIGRATE the keys (`keys` of them), then, with
   * `finish`, SETSLOT NODE on every master, destination first.
   */
  async function moveSlot(slot: number, to: number, options: { keys?: number; finish: boolean }): Promise<void> {
    const from = await ownerOf(slot);
    const src = admin.get(from)!;
    await admin.get(to)!.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', ids.get(from)!);
    await src.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', ids.get(to)!);
    const keys = ((await src.call('CLUSTER', 'GETKEYSINSLOT', slot, 10_000)) as string[]).slice(0, options.keys);
    if (keys.length > 0) await src.call('MIGRATE', '127.0.0.1', to, '', 0, 5000, 'KEYS', ...keys);
    if (options.finish) await finishSlot(slot, to, from);
  }

  /** SETSLOT NODE on every master, destination first, once the source holds no key of the slot. */
  async function finishSlot(slot: number, to: number, from: number): Promise<void> {
    const rest = (await admin.get(from)!.call('CLUSTER', 'GETKEYSINSLOT', slot, 10_000)) as string[];
    if (rest.length > 0) await admin.get(from)!.call('MIGRATE', '127.0.0.1', to, '', 0, 5000, 'KEYS', ...rest);
    for (const port of [to, from, ...cluster.masters.map((m) => m.port).filter((p) => p !== to && p !== from)]) {
      await admin.get(port)!.call('CLUSTER', 'SETSLOT', slot, 'NODE', ids.get(to)!);
    }
  }

  async function write(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 500) await Promise.all(keys.slice(i, i + 500).map((k) => app.set(k, 'v')));
  }

  async function pttls(keys: string[]): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < keys.length; i += 500) out.push(...(await Promise.all(keys.slice(i, i + 500).map((k) => app.pttl(k)))));
    return out;
  }

  async function fixApply(glob: string, journal: string): Promise<number> {
    const fix = await cli(['fix', cluster.url, '--match', glob, '--ttl', '1h', '--apply', '--journal', journal, '--json']);
    assert.equal(fix.code, 0, fix.stderr);
    return JSON.parse(fix.stdout).totals.applied as number;
  }

  const inSlots = (keys: string[], slots: number[]) => keys.filter((k) => slots.includes(keySlot(Buffer.from(k))));
  const tagged = (prefix: string, tag: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}{${tag}}:${i}`);
  const spread = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  it('keySlot agrees with CLUSTER KEYSLOT, hash tags and binary keys included', async () => {
    const c = admin.get(cluster.masters[0].port)!;
    const keys = ['', 'a', 'cache:1', '{user}:1', 'a{}b', 'a{b', 'a}b{c}', '{{x}}', '{}{y}', 'é{ü}'].map((k) => Buffer.from(k));
    keys.push(Buffer.from([0xff, 0x00, 0x7b, 0x80, 0x7d, 0x1b]), Buffer.from([0x7b, 0x7d, 0x00]));
    for (const k of keys) assert.equal(keySlot(k), Number(await c.call('CLUSTER', 'KEYSLOT', k)), `slot of ${k.toString('hex')}`);
  });

  it('parses the migrating and importing slots of the node asked', () => {
    const text = [
      'aaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-2 5 [3->-bbb] [9-<-ccc]',
      'bbb 127.0.0.1:7001@17001 master - 0 0 2 connected 3-4',
      'ddd :7003@17003 master,fail - 0 0 3 disconnected 6-8',
      'eee 127.0.0.1:7004@17004 slave aaa 0 0 1 connected',
    ].join('\n');
    const { myself, masters } = parseMasterSlots(text, 'fallback');
    assert.deepEqual(myself, { id: 'aaa', address: '127.0.0.1:7000', host: '127.0.0.1', port: 7000, slots: [0, 1, 2, 5], moving: [3, 9] });
    assert.deepEqual(
      masters.map((m) => m.address),
      ['127.0.0.1:7000', '127.0.0.1:7001'],
    );
  });

  it('after a resharding, undo takes every journaled key back on the master that serves it now', async () => {
    const moved = [...tagged('re:', 'r1', 200), ...tagged('re:', 'r2', 200)];
    const keys = [...spread('re:', 3000), ...moved];
    await write(keys);
    await app.set('{user}:1:profile', 'keep');
    const journal = join(dir, 'resharded.jsonl');
    assert.equal(await fixApply('re:*', journal), keys.length);

    // The application gives two keys (one in a slot about to move) a longer TTL of its own.
    const longer = ['re:{r1}:0', 're:7'];
    for (const k of longer) await app.pexpire(k, 2 * HOUR);
    // Reshard: both tagged slots move to another master, their keys with them (and any
    // untagged key that hashes to the same slots).
    const slots = ['{r1}', '{r2}'].map((tag) => keySlot(Buffer.from(tag)));
    for (const slot of slots) await moveSlot(slot, await otherThanOwner(slot), { finish: true });
    const rerouted = inSlots(keys, slots).length;
    assert.ok(rerouted >= 400);
    const journaledNodes = new Set(
      readFileSync(journal, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{"t":"set"'))
        .map((l) => JSON.parse(l).node as string),
    );
    assert.equal(journaledNodes.size, 3, 'fix wrote on all three masters');

    const dry = await cli(['undo', cluster.url, '--journal', journal, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /DRY RUN: would PERSIST 3,398 of 3,400 journaled keys/);
    assert.match(dry.stdout, new RegExp(`\\n${rerouted} keys had moved to another master since fix \\(resharding or failover\\)`));
    assert.ok((await pttls(['re:{r1}:5', 're:5']))[0] > 0, 'a dry run persisted nothing');

    const undo = await cli(['undo', cluster.url, '--journal', journal, '--json']);
    assert.equal(undo.code, 0, undo.stderr);
    const doc = JSON.parse(undo.stdout);
    assert.equal(doc.kind, 'keywarden.undo');
    assert.equal(doc.target.mode, 'cluster');
    assert.equal(doc.journaled, 3400);
    assert.equal(doc.persisted, 3398);
    assert.equal(doc.rerouted, rerouted);
    assert.deepEqual(doc.skipped, {
      gone: 0,
      noTtl: 0,
      longerTtl: 2,
      otherTtl: 0,
      refused: 0,
      shortened: 0,
      unknownNode: 0,
      migrating: 0,
      unreachable: 0,
      unconfirmed: 0,
    });
    assert.deepEqual(doc.skippedExamples.longerTtl.sort(), [...longer].sort());

    const ttls = await pttls(keys);
    keys.forEach((k, i) => {
      if (longer.includes(k)) assert.ok(ttls[i] > HOUR, `${k} lost the TTL the application gave it`);
      else assert.equal(ttls[i], -1, `${k} still has a TTL`);
    });
    assert.equal(await app.pttl('{user}:1:profile'), -1);
  });

  it('a slot still migrating is skipped with its reason, and a rerun once it moved finishes the job', async () => {
    const migrating = tagged('mig:', 'm1', 200);
    const keys = [...spread('mig:', 300), ...migrating];
    await write(keys);
    const journal = join(dir, 'migrating.jsonl');
    assert.equal(await fixApply('mig:*', journal), keys.length);
    const slot = keySlot(Buffer.from('{m1}'));
    const from = await ownerOf(slot);
    const to = await otherThanOwner(slot);
    // Half the keys moved, half still on the source: some would answer ASK.
    await moveSlot(slot, to, { keys: 100, finish: false });

    const inFlight = inSlots(keys, [slot]).length;
    assert.ok(inFlight >= 200);

    const undo = await cli(['undo', cluster.url, '--journal', journal]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.match(undo.stdout, new RegExp(`PERSIST ${500 - inFlight} of 500 journaled keys`));
    assert.match(
      undo.stdout,
      new RegExp(`\\s${inFlight} {2}its slot is being moved between masters \\(resharding in progress\\): rerun undo once it is done \\(e\\.g\\. mig:`),
    );

    await finishSlot(slot, to, from);
    const rerun = await cli(['undo', cluster.url, '--journal', journal, '--json']);
    assert.equal(rerun.code, 0, rerun.stderr);
    const doc = JSON.parse(rerun.stdout);
    assert.equal(doc.persisted, inFlight);
    assert.equal(doc.skipped.noTtl, 500 - inFlight, 'keys undone by the first run are left alone');
    assert.equal(doc.skipped.migrating, 0);
    assert.ok((await pttls(keys)).every((t) => t === -1));
  });

  it('a journal naming a node that left the cluster is undone where its keys live now', async () => {
    const keys = spread('left:', 600);
    await write(keys);
    const journal = join(dir, 'left.jsonl');
    assert.equal(await fixApply('left:*', journal), 600);
    // As if fix had run before the masters were replaced: the journal's nodes are gone.
    const text = readFileSync(journal, 'utf8').replace(/"node":"127\.0\.0\.1:\d+"/g, '"node":"127.0.0.1:1"');
    writeFileSync(journal, text);

    const undo = await cli(['undo', cluster.url, '--journal', journal, '--json']);
    assert.equal(undo.code, 0, undo.stderr);
    const doc = JSON.parse(undo.stdout);
    assert.equal(doc.persisted, 600);
    assert.equal(doc.rerouted, 600);
    assert.equal(doc.skipped.unknownNode, 0);
    assert.ok((await pttls(keys)).every((t) => t === -1));
  });

  it('a slot that moves while undo runs: the refused call rereads the slot map and its keys are undone on the new owner', async () => {
    const keys = [...spread('live:', 600), ...tagged('live:', 'l1', 300)];
    await write(keys);
    const journal = join(dir, 'live.jsonl');
    assert.equal(await fixApply('live:*', journal), keys.length);
    const slot = keySlot(Buffer.from('{l1}'));
    const to = await otherThanOwner(slot);
    const target = await connectTarget(resolveTarget({ url: cluster.url }, {}));
    let move: Promise<void> | undefined;
    try {
      // Paced at 300 keys/s: the slot moves after the first call, well before the next ones.
      const report = await undoFix(target, {
        journal,
        maxOps: 300,
        onProgress: (p) => {
          if (p.done > 0) move ??= moveSlot(slot, to, { finish: true });
        },
      });
      await move;
      assert.equal(report.persisted, keys.length, `skipped: ${JSON.stringify(report.skipped)}`);
      assert.equal(report.skipped.migrating + report.skipped.unreachable, 0);
      assert.ok(report.rerouted > 0, "no key was undone on the slot's new owner");
    } finally {
      await move?.catch(() => undefined);
      await target.close();
    }
    assert.ok((await pttls(keys)).every((t) => t === -1));
  });

  it('keys of a master that is down are skipped as unreachable; the rest is undone (runs last: kills a master)', async () => {
    const keys = spread('down:', 600);
    await write(keys);
    const journal = join(dir, 'down.jsonl');
    assert.equal(await fixApply('down:*', journal), 600);
    // The surviving masters keep serving their slots while one has none to answer for.
    for (const c of admin.values()) await c.config('SET', 'cluster-require-full-coverage', 'no');
    const victim = cluster.masters[2];
    const onVictim = (await ttlCounts(admin.get(victim.port)!, 'down:*')).withTtl;
    assert.ok(onVictim > 50, `only ${onVictim} keys on the master to stop`);
    admin.get(victim.port)!.disconnect();
    admin.delete(victim.port);
    await victim.stop();
    const survivor = admin.get(cluster.masters[0].port)!;
    const deadline = Date.now() + 20_000;
    while (!((await survivor.call('CLUSTER', 'NODES')) as string).split('\n').some((l) => l.includes(`:${victim.port}@`) && /[ ,]fail[ ,]/.test(l))) {
      assert.ok(Date.now() < deadline, 'the cluster never marked the stopped master as failed');
      await new Promise((r) => setTimeout(r, 100));
    }

    const undo = await cli(['undo', cluster.url, '--journal', journal]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.match(undo.stdout, new RegExp(`PERSIST ${600 - onVictim} of 600 journaled keys`));
    assert.match(undo.stdout, new RegExp(`\\s${onVictim}  no reachable master serves its slot`));
    for (const m of cluster.masters.slice(0, 2)) {
      const counts = await ttlCounts(admin.get(m.port)!, 'down:*');
      assert.equal(counts.withTtl, 0, `master ${m.port} kept fix's TTLs`);
    }
  });
});

describe('undo progress bar', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    await server.stop();
  });

  it('shows keys done of journaled keys, rate and ETA on a terminal, and nothing on a pipe', async () => {
    const c = server.client();
    try {
      await fill(c, 'tty:', 3000);
      const journal = join(dir, 'tty.jsonl');
      const fix = await cli(['fix', server.url, '--match', 'tty:*', '--ttl', '1h', '--apply', '--journal', journal]);
      assert.equal(fix.code, 0, fix.stderr);
      const cmd = `${process.execPath} --import tsx src/cli/run.ts undo ${server.url} --journal ${journal} --max-ops 1500`;
      // `script` runs the command on a pseudo-terminal, as an operator's shell would.
      const tty = spawnSync('script', ['-qfec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(tty.status, 0, tty.stdout + tty.stderr);
      assert.match(tty.stdout, /undoing \[.*\] \d+% \| [\d,]+ of 3,000 keys \| [\d,]+ keys\/s \| ETA \S+/);
      assert.match(tty.stdout, /PERSIST 3,000 of 3,000 journaled keys/);
      assert.deepEqual(await ttlCounts(c, 'tty:*'), { withTtl: 0, without: 3000 });

      const piped = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'undo', server.url, '--journal', journal, '--dry-run'], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(piped.status, 0, piped.stderr);
      assert.ok(!/(checking|undoing) \[/.test(piped.stderr + piped.stdout), piped.stderr);
      assert.match(piped.stdout, /DRY RUN: would PERSIST 0 of 3,000 journaled keys/);
    } finally {
      c.disconnect();
    }
  });
});
