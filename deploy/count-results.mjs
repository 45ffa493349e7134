// Prints CI's closing line, "N passed, N failed", from vitest's JSON reports (one per Temporal
// shape) plus the checks (lint, type-check, build) that ran before them. Exits 1 when anything
// failed or nothing ran. Usage: count-results.mjs <failed checks> <report.json>...
/* global console */
import { existsSync, readFileSync } from 'node:fs';
import process from 'node:process';

const [failedChecks = '0', ...reports] = process.argv.slice(2);
let passed = 0;
let failed = Number(failedChecks);
for (const report of reports) {
  if (!existsSync(report)) {
    failed += 1; // the run died before writing its report
    continue;
  }
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
  // A suite that failed to load (e.g. its global setup) reports no tests: count it as a failure.
  for (const s of r.testResults ?? []) if (s.status === 'failed' && (s.assertionResults ?? []).length === 0) failed += 1;
}
if (reports.length === 0) failed += 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
