import { readFile } from 'node:fs/promises';
import { adminQuery } from './seed.ts';

/** CPU time (µs) each Postgres backend serving a database has used so far, by pid. */
export type BackendCpu = Map<number, number>;

/**
 * Reads the CPU time of every backend serving `database` from /proc (the benchmark runs beside the
 * database); null where that is not readable (another host, not Linux).
 */
export async function backendCpu(adminUrl: string, database: string): Promise<BackendCpu | null> {
  try {
    const { rows } = await adminQuery(adminUrl, 'select pid from pg_stat_activity where datname = $1', [database]);
    const cpu: BackendCpu = new Map();
    for (const { pid } of rows) {
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).split(') ')[1]?.split(' ') ?? [];
      const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (1/100 s)
      if (Number.isFinite(ticks)) cpu.set(pid, ticks * 10_000);
    }
    return cpu;
  } catch {
    return null;
  }
}

/**
 * CPU the backends alive at `end` used since `start` (a backend new since then counts whole). A
 * backend that ended in between is not counted, rather than making the sum go negative: pools
 * that close idle connections (another server's, between its rounds) must not skew the window.
 */
export function cpuSince(start: BackendCpu, end: BackendCpu): number {
  let micros = 0;
  for (const [pid, used] of end) micros += used - (start.get(pid) ?? 0);
  return micros;
}
