/**
 * Network thread of `rdb --fetch`: connects as a replica would (AUTH, `REPLCONF capa eof`,
 * `REPLCONF rdb-only 1`, SYNC), then copies the snapshot's bytes into the shared ring (and
 * to `--save FILE` when asked) as they arrive. With `rdb-only` (Redis 7+) the server sends
 * the snapshot and no replication stream; with `capa eof` and diskless sync it streams it
 * without writing it to its own disk.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { workerData } from 'node:worker_threads';
import type { TlsSettings } from '../target/spec.js';
import { RingWriter, type RingMemory } from './ring.js';

export interface FetchJob {
  ring: RingMemory;
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls?: TlsSettings;
  connectTimeoutMs: number;
  save?: string;
}

const EOF_MARK = 40;

function command(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** Why the server said no, in words a user can act on. */
function refusal(step: string, line: string): string {
  if (step === 'AUTH') return `authentication failed: ${line}`;
  if (/NOPERM|unknown command|not allowed|disabled/i.test(line))
    return `the server refuses ${step} (${line}): managed services often do; use a dump from a backup instead`;
  return `${step} failed: ${line}`;
}

function run(job: FetchJob): void {
  const ring = new RingWriter(job.ring);
  const saveFd = job.save ? openSync(job.save, 'w') : undefined;
  const socket: Socket = job.tls ? connectTls({ host: job.host, port: job.port, ...job.tls }) : connectTcp({ host: job.host, port: job.port });
  const steps: string[] = [];
  let pending = Buffer.alloc(0);
  let phase: 'replies' | 'payload' | 'done' = 'replies';
  let remaining = -1;
  let mark: Buffer | undefined;
  let held = Buffer.alloc(0);
  const connectTimer = setTimeout(() => socket.destroy(new Error(`no connection within ${job.connectTimeoutMs} ms`)), job.connectTimeoutMs);

  const stop = (failure?: string) => {
    if (phase === 'done') return;
    phase = 'done';
    if (saveFd !== undefined) closeSync(saveFd);
    if (failure) ring.fail(failure);
    else ring.finish();
    socket.destroy();
  };

  const emit = (bytes: Buffer) => {
    if (bytes.length === 0) return;
    ring.write(bytes);
    if (saveFd !== undefined) writeSync(saveFd, bytes);
  };

  const payload = (chunk: Buffer) => {
    ring.beat();
    if (mark) {
      // Diskless: the payload ends with the 40-byte mark; hold back 40 bytes until sure.
      const all = Buffer.concat([held, chunk]);
      if (all.length >= EOF_MARK && all.subarray(all.length - EOF_MARK).equals(mark)) {
        emit(all.subarray(0, all.length - EOF_MARK));
        stop();
        return;
      }
      const keep = Math.min(all.length, EOF_MARK);
      emit(all.subarray(0, all.length - keep));
      held = Buffer.from(all.subarray(all.length - keep));
      return;
    }
    const n = Math.min(chunk.length, remaining);
    emit(chunk.subarray(0, n));
    remaining -= n;
    if (remaining === 0) stop();
  };

  const onReplies = () => {
    for (;;) {
      // Keep-alive newlines while the server prepares the snapshot.
      while (pending.length > 0 && pending[0] === 0x0a) {
        pending = pending.subarray(1);
        ring.beat();
      }
      const eol = pending.indexOf('\r\n');
      if (eol < 0) return;
      const line = pending.subarray(0, eol).toString('latin1');
      pending = pending.subarray(eol + 2);
      const step = steps.shift() ?? 'SYNC';
      if (line.startsWith('-')) {
        if (step.startsWith('REPLCONF')) {
          // An older server without capa eof / rdb-only: SYNC all the same.
          if (steps.length === 1) socket.write(command('SYNC'));
          continue;
        }
        return stop(refusal(step, line.slice(1)));
      }
      if (step !== 'SYNC') {
        // SYNC must come alone: the server refuses it while replies are still pending.
        if (steps.length === 1) socket.write(command('SYNC'));
        continue;
      }
      if (!line.startsWith('$')) return stop(`unexpected reply to SYNC: ${line.slice(0, 80)}`);
      phase = 'payload';
      if (line.startsWith('$EOF:')) mark = Buffer.from(line.slice(5), 'latin1');
      else {
        remaining = Number(line.slice(1));
        if (!Number.isSafeInteger(remaining) || remaining < 0) return stop(`bad snapshot length in ${line.slice(0, 80)}`);
        ring.setSize(remaining);
      }
      const rest = pending;
      pending = Buffer.alloc(0);
      if (rest.length > 0) payload(rest);
      return;
    }
  };

  socket.once(job.tls ? 'secureConnect' : 'connect', () => {
    clearTimeout(connectTimer);
    let out = '';
    if (job.password !== undefined) {
      out += job.username ? command('AUTH', job.username, job.password) : command('AUTH', job.password);
      steps.push('AUTH');
    }
    out += command('REPLCONF', 'capa', 'eof') + command('REPLCONF', 'rdb-only', '1');
    steps.push('REPLCONF capa', 'REPLCONF rdb-only', 'SYNC');
    socket.write(out);
  });
  socket.on('data', (chunk: Buffer) => {
    if (phase === 'payload') payload(chunk);
    else if (phase === 'replies') {
      pending = Buffer.concat([pending, chunk]);
      onReplies();
    }
  });
  socket.on('error', (err) => stop(`cannot read from ${job.host}:${job.port}: ${err.message}`));
  socket.on('close', () => {
    if (phase === 'payload' && mark) return stop('the server closed the connection before the end of the snapshot');
    if (phase !== 'done') stop(phase === 'payload' ? 'the server closed the connection before the end of the snapshot' : 'the server closed the connection');
  });
}

run(workerData as FetchJob);
