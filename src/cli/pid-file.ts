import { readFileSync, rmSync, writeFileSync } from 'node:fs';

/** Writes this process's pid to `file` (as nginx's `pid` directive); returns a function that removes it. */
export function writePidFile(file: string): () => void {
  writeFileSync(file, `${process.pid}\n`);
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    try {
      // Only our own: a newer balancer may have taken the file over.
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file);
    } catch {
      // Already gone.
    }
  };
  process.once('exit', remove);
  return remove;
}

/** Reads a pid file; a phrase saying what is wrong instead when it cannot. */
export function readPidFile(file: string): number | string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
    return `cannot read pid file ${file}: ${why} (is a balancer running with --pid-file ${file}?)`;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid < 1) return `pid file ${file} does not hold a process id (found ${JSON.stringify(text.trim().slice(0, 20))})`;
  return pid;
}

/** True when `pid` runs a balancer (Linux /proc); true as well when that cannot be told. */
export function looksLikeBalancer(pid: number): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true;
  }
  return /balancer|cli\.js/.test(cmdline);
}
