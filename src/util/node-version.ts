// Imported first by the CLI: ES modules run in import order, so this check runs before a
// dependency that needs a newer Node.js (undici 8 fails to load on Node.js 20) can crash with a
// stack trace.

/** Oldest Node.js the balancer runs on; package.json's `engines` says the same. */
export const MIN_NODE = '22.19.0';

/** Why `version` (e.g. "20.20.2") cannot run the balancer, or undefined when it can. */
export function unsupportedNode(version: string): string | undefined {
  const have = version.replace(/^v/, '').split('.').map(Number);
  const need = MIN_NODE.split('.').map(Number);
  for (let i = 0; i < need.length; i++) {
    const h = have[i] ?? 0;
    const n = need[i] ?? 0;
    if (h > n) return undefined;
    if (h < n) return `needs Node.js ${MIN_NODE} or newer (24 recommended); this is Node.js ${version.replace(/^v/, '')}`;
  }
  return undefined;
}

const problem = unsupportedNode(process.versions.node);
if (problem !== undefined) {
  process.stderr.write(`balancer: ${problem}\n`);
  process.exit(1);
}
