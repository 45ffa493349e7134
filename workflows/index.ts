// The workflows a `vmsnap` workflow worker serves. Read live-snapshot.ts for the live steps.
export { snapshotInstance } from './snapshot-instance.js';
