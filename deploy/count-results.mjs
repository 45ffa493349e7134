// Prints CI's closing line, "N passed, N failed", from vitest's JSON report plus the checks
// (lint, type-check, build) that ran before it. Exits 1 when anything failed or nothing ran.
/* global console */
import { existsSync, readFileSync } from 'node:fs';
import process from 'node:process';

const [report, failedChecks = '0'] = process.argv.slice(2);
let passed = 0;
let failed = Number(failedChecks);
if (report && existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
  // A suite that failed to load (e.g. its global setup) reports no tests: count it as a failure.
  for (const s of r.testResults ?? []) if (s.status === 'failed' && (s.assertionResults ?? []).length === 0) failed += 1;
} else {
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
