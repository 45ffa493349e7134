import type { TestProject } from 'vitest/node';
import setupStack from '../integration/global-setup.js';
import { printTable } from './harness-table.js';

/** The same real stack as the integration suite; at the end, the table of what the faults did. */
export default async function setup(project: TestProject) {
  const teardown = await setupStack(project);
  return async () => {
    printTable(project.getProvidedContext().stateDir);
    await teardown();
  };
}
