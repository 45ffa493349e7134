/** The chaos suite's table: one JSON row per case, printed once at the end of the run. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface ChaosRow {
  case: string;
  outcome: 'completed' | 'unwound' | 'FAILED';
  domainLost: boolean;
  orphans: string[];
  seconds: number;
  detail: string;
}

export function chaosTableFile(stateDir: string): string {
  return path.join(path.dirname(stateDir), 'chaos.jsonl');
}

/** Prints the suite's table from the rows the cases recorded. */
export function printTable(stateDir: string): void {
  const file = chaosTableFile(stateDir);
  if (!existsSync(file)) return;
  const rows = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as ChaosRow);
  const passed = rows.filter((r) => r.outcome !== 'FAILED' && !r.domainLost && r.orphans.length === 0).length;
  console.log('\nchaos suite');
  console.log(`${'case'.padEnd(58)} ${'outcome'.padEnd(10)} ${'lost'.padEnd(5)} ${'orphans'.padEnd(8)} s`);
  for (const r of rows) console.log(`${r.case.padEnd(58)} ${r.outcome.padEnd(10)} ${String(r.domainLost).padEnd(5)} ${String(r.orphans.length).padEnd(8)} ${r.seconds}`);
  console.log(`cases run ${rows.length}, passed ${passed}, domains lost ${rows.filter((r) => r.domainLost).length}, orphans ${rows.reduce((n, r) => n + r.orphans.length, 0)}\n`);
}
