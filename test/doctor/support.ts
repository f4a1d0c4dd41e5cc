/** Shared helpers of the doctor tests: run diagnose or the CLI against a real server. */
import { Command } from 'commander';
import type { Redis } from 'ioredis';
import { registerDoctor } from '../../src/cli/commands/doctor.js';
import { exitCodeOf } from '../../src/cli/runner.js';
import { diagnose, type DiagnoseOptions, type DoctorReport } from '../../src/doctor/index.js';
import { connectTarget } from '../../src/target/connect.js';
import { resolveTarget, type TargetOptions } from '../../src/target/spec.js';

/** Diagnose a live server with a fast, small sample. */
export async function doctor(target: TargetOptions, options: DiagnoseOptions = {}): Promise<DoctorReport> {
  const t = await connectTarget(resolveTarget(target, {}));
  try {
    return await diagnose(t, { growthWindowMs: 0, sampleDeadlineMs: 3000, ...options });
  } finally {
    await t.close();
  }
}

export function ids(report: DoctorReport): string[] {
  return report.findings.map((f) => f.id);
}

export function finding(report: DoctorReport, id: string) {
  const f = report.findings.find((x) => x.id === id);
  if (!f) throw new Error(`no ${id} finding; got ${JSON.stringify(report.findings.map((x) => `${x.id}:${x.severity}`))}`);
  return f;
}

/** Run `keywarden doctor ...args` through commander; returns exit code and captured output. */
export async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const program = new Command().exitOverride();
  registerDoctor(program, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, isTTY: false });
  await program.parseAsync(['node', 'keywarden', 'doctor', ...args]);
  return { code: exitCodeOf(program), stdout, stderr };
}

/** Fill a server with DEBUG POPULATE until used memory reaches `ratio` of maxmemory. */
export async function fillTo(client: Redis, ratio: number, prefix = 'blob'): Promise<void> {
  for (let round = 0; round < 400; round++) {
    const info = await client.info('memory');
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1]);
    const max = Number(/maxmemory:(\d+)/.exec(info)?.[1]);
    if (used / max >= ratio) return;
    await client.call('DEBUG', 'POPULATE', '500', `${prefix}:${round}`, '100');
  }
  throw new Error('could not fill the server');
}
