import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time spent, as opposed to wall time: on a machine shared with other work, wall times of
 * the batch run and of DuckDB move with the load, CPU seconds much less.
 */

/** CPU time of this process (every thread: the batch scan's workers and DuckDB's included), ms. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux Node supports

/**
 * CPU time of the PostgreSQL server listening on `port` (postmaster, live backends and the
 * backends that have exited), ms; undefined where it cannot be read (not Linux, not local).
 */
export function postgresCpuMs(port: number): number | undefined {
  try {
    const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
    const postmaster = pids.find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => arg === `port=${port}` || arg === `--port=${port}`);
      } catch {
        return false;
      }
    });
    if (postmaster === undefined) return undefined;
    let ticks = 0;
    for (const pid of pids) {
      const fields = statFields(pid);
      if (fields === undefined) continue;
      // After the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
      if (pid === postmaster) ticks += fields[11] + fields[12] + fields[13] + fields[14];
      else if (String(fields[1]) === postmaster) ticks += fields[11] + fields[12];
    }
    return (ticks * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

function statFields(pid: string): number[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text
      .slice(text.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
  } catch {
    return undefined;
  }
}
