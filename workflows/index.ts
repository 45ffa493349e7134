// The workflows a `vmsnap` workflow worker serves. Read live-snapshot.ts for the live steps.
export { snapshotInstance } from './snapshot-instance.js';
export { backupInstance } from './backup-instance.js';
export { restoreInstance } from './restore-instance.js';
export { deleteImage, listImages } from './images.js';
