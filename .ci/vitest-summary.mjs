// Prints "N passed, N failed" from vitest's JSON reporter output; exit 1 when no test ran.
import { readFileSync } from 'node:fs';

const results = JSON.parse(readFileSync(process.argv[2] ?? 'test-results/vitest.json', 'utf8'));
const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
console.log(`${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (results.numTotalTests === 0) {
  console.error('no test ran');
  process.exit(1);
}
