import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';

/**
 * How busy the machine is before the bench starts, from /proc/stat (Linux; undefined elsewhere).
 * The bench shares the CPUs with whatever else runs, and ratios measured beside a busy neighbour
 * swing widely, so the header says so.
 */
export async function busyShare(sampleMs = 2_000): Promise<number | undefined> {
  const before = await cpuTicks();
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const idle = idleShare(before, await cpuTicks());
  return idle === undefined ? undefined : 1 - idle;
}

/** The share of the machine's CPU time left idle between two readings of cpuTicks. */
export function idleShare(
  before: { idle: number; total: number } | undefined,
  after: { idle: number; total: number } | undefined,
): number | undefined {
  if (!before || !after || after.total === before.total) return undefined;
  return (after.idle - before.idle) / (after.total - before.total);
}

export function describeMachine(busy: number | undefined): string {
  const cpus = `Node ${process.version}, ${availableParallelism()} CPUs`;
  if (busy === undefined) return cpus;
  const note = busy > 0.1 ? ' — other processes are using the CPUs; expect noisy ratios' : '';
  return `${cpus}, ${Math.round(busy * 100)}% busy before start${note}`;
}

/** The machine's CPU ticks so far, idle (iowait included) and in all, from /proc/stat (undefined elsewhere). */
export async function cpuTicks(): Promise<{ idle: number; total: number } | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { idle, total: fields.slice(0, 8).reduce((sum, n) => sum + n, 0) };
  } catch {
    return undefined;
  }
}
