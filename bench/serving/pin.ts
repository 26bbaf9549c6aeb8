import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Client } from 'pg';

/**
 * Puts the load generator on a core of its own: the serving process and PostgreSQL (its
 * postmaster and every backend, present and future: backends inherit the postmaster's
 * affinity) on core 0, this process on the others, with taskset(1). On a machine of two
 * cores a load generator otherwise takes its CPU from the server it measures, and a heavier
 * client (grpc-js' against autocannon) then counts as a slower server; this is the same
 * machine with that effect taken out, as a load generator on another machine would.
 *
 * Resolves with a function that gives every process all cores back, or with the reason the
 * pinning cannot be done here (no taskset, one core, PostgreSQL not on this machine).
 */
export async function isolateLoadGenerator(databaseUrl: string, servingPid: number): Promise<(() => void) | string> {
  const cores = availableParallelism();
  if (cores < 2) return 'one core';
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return 'no taskset(1)';
  }
  const postgres = await postgresProcesses(databaseUrl);
  if (typeof postgres === 'string') return postgres;
  const all = `0-${cores - 1}`;
  const set = (pids: readonly number[], cpus: string) => {
    for (const pid of pids) {
      try {
        execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
      } catch {
        // A backend that ended meanwhile.
      }
    }
  };
  set([...postgres, servingPid], '0');
  set([process.pid], `1-${cores - 1}`);
  return () => {
    set([process.pid, servingPid], all);
    set(childrenOf(postgres[0]).concat(postgres[0]), all);
  };
}

/** The postmaster (first) and its children, found from a backend of ours; a reason if PostgreSQL is not local. */
async function postgresProcesses(databaseUrl: string): Promise<number[] | string> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const backend = Number((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    const postmaster = isPostgres(backend) ? parentOf(backend) : undefined;
    if (postmaster === undefined) return 'PostgreSQL is not on this machine';
    return [postmaster, ...childrenOf(postmaster)];
  } finally {
    await client.end();
  }
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
  } catch {
    return false;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after its ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function childrenOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => parentOf(pid) === parent);
}
