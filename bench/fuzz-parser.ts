// Differential fuzz of the fast engine's request parser against Node's llhttp (see README, "The
// fast engine's HTTP/1.1 parser"). Prints the counts by outcome and code; exits 1 on any
// framing violation (we accept what llhttp rejects for framing) or mismatch (both accept, parse differs).
// Run: npm run build && node dist/bench/fuzz-parser.js [seed=1] [count=200000]
import { fuzz } from '../test/engines/fast/http1/fuzz.js';

const seed = Number(process.argv[2] ?? 1);
const count = Number(process.argv[3] ?? 200_000);
const started = performance.now();
const r = fuzz(seed, count);
const secs = (performance.now() - started) / 1000;
const sorted = (o: Record<string, number>): string =>
  Object.entries(o)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `    ${k.padEnd(28)} ${v}`)
    .join('\n') || '    (none)';
console.log(`seed ${seed}, ${r.cases} cases in ${secs.toFixed(1)} s (node ${process.version}, llhttp ${process.versions.llhttp})`);
console.log(`  both accept, same parse      ${r.bothAccept}`);
console.log(`  both reject                  ${r.bothReject}`);
console.log(`  llhttp rejects a head we still read ${r.undecided}`);
console.log(`  we reject, llhttp accepts    ${Object.values(r.oursStricter).reduce((a, b) => a + b, 0)} (by our code)`);
console.log(sorted(r.oursStricter));
console.log(`  we accept, llhttp rejects    ${Object.values(r.theirsStricter).reduce((a, b) => a + b, 0)} (by llhttp code)`);
console.log(sorted(r.theirsStricter));
console.log(`  framing violations           ${r.framingViolations.length}`);
console.log(`  mismatches                   ${r.mismatches.length}`);
if (process.env.FUZZ_EXAMPLES) for (const [k, v] of Object.entries(r.examples)) console.log(`example ${k}: ${JSON.stringify(v)}`);
for (const v of r.framingViolations.slice(0, 10)) if (v.input) console.log(`VIOLATION ${v.theirs} [${v.mutations.join(',')}]: ${JSON.stringify(v.input)}`);
for (const m of r.mismatches.slice(0, 10)) if (m.input) console.log(`MISMATCH ${m.detail} [${m.mutations.join(',')}]: ${JSON.stringify(m.input)}`);
process.exitCode = r.framingViolations.length + r.mismatches.length > 0 ? 1 : 0;
