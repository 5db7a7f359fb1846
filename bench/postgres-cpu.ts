import { readFile } from 'node:fs/promises';
import { adminQuery } from './seed.ts';

/**
 * CPU time (µs) each Postgres backend serving a database has used so far, by pid, and which of
 * them are autovacuum workers (they work for every server's changes, whichever round they run in).
 */
export interface BackendCpu {
  micros: Map<number, number>;
  autovacuum: Set<number>;
}

/**
 * Reads the CPU time of every backend serving `database` from /proc (the benchmark runs beside the
 * database); null where that is not readable (another host, not Linux).
 */
export async function backendCpu(adminUrl: string, database: string): Promise<BackendCpu | null> {
  try {
    const { rows } = await adminQuery(adminUrl, 'select pid, backend_type from pg_stat_activity where datname = $1', [database]);
    const cpu: BackendCpu = { micros: new Map(), autovacuum: new Set() };
    for (const { pid, backend_type } of rows) {
      const micros = await processCpuMicros(pid);
      if (!Number.isFinite(micros)) continue;
      cpu.micros.set(pid, micros);
      if (backend_type === 'autovacuum worker') cpu.autovacuum.add(pid);
    }
    return cpu;
  } catch {
    return null;
  }
}

/**
 * A process's CPU time in µs. /proc/<pid>/schedstat counts nanoseconds on the CPU; /proc/<pid>/stat
 * counts clock ticks of 10 ms, which over ten backends and a 2-second window blurs the sum by a few
 * percent, as much as the differences the same-run benches measure. stat is the fallback.
 */
async function processCpuMicros(pid: number): Promise<number> {
  const schedstat = await readFile(`/proc/${pid}/schedstat`, 'utf8').catch(() => '');
  const nanos = Number(schedstat.split(' ')[0]);
  if (schedstat && Number.isFinite(nanos)) return nanos / 1000;
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10_000; // utime + stime, in clock ticks (1/100 s)
}

/**
 * CPU the backends alive at `end` used since `start` (a backend new since then counts whole). A
 * backend that ended in between is not counted, rather than making the sum go negative: pools
 * that close idle connections (another server's, between its rounds) must not skew the window.
 */
export function cpuSince(start: BackendCpu, end: BackendCpu, only?: 'autovacuum'): number {
  let micros = 0;
  for (const [pid, used] of end.micros) {
    if (only === 'autovacuum' && !end.autovacuum.has(pid)) continue;
    micros += used - (start.micros.get(pid) ?? 0);
  }
  return micros;
}
