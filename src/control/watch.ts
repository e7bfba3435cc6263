import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/** Quiet time after the last change before reloading: editors write a file in several steps. */
export const WATCH_DEBOUNCE_MS = 200;

/**
 * Calls `onChange` when `file` changes, debounced. Watches the directory, not the file, so editors
 * that replace the file (write a temp file, rename it over) keep being followed.
 */
export function watchConfigFile(file: string, onChange: () => void, debounceMs = WATCH_DEBOUNCE_MS): { close(): void } {
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  const w: FSWatcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
    if (changed !== null && changed !== name) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  return {
    close: () => {
      clearTimeout(timer);
      w.close();
    },
  };
}
