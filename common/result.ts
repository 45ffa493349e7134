/** Where the time went: one entry per step, in order. */
export interface StepTiming {
  name: string;
  ms: number;
}

export type SnapshotMode = 'live' | 'cold' | 'rbd';
export type LiveStrategy = 'overlay' | 'backup' | 'transient-job' | 'undefine';

/** The result of `snapshotInstance` (DESIGN.md). */
export interface SnapshotResult {
  /** The run that made the image (its Web UI page, its history). */
  workflowId: string;
  imageId: string;
  imageName: string;
  store: string;
  location: string;
  format: 'qcow2' | 'raw';
  sizeBytes: number;
  virtualSizeBytes: number;
  sha256: string;
  mode: SnapshotMode;
  strategy?: LiveStrategy;
  host: string;
  domain: string;
  disk: string;
  /** libvirt's UUID of the domain (Nova's instance_uuid): backups rotate per instance. */
  instanceUuid: string;
  steps: StepTiming[];
  downtimeMs: number;
  /** The other disks' images, when the request named several disks (the first is the image above). */
  moreDisks?: StoredDisk[];
}

/** The image of one more disk of a multi-disk snapshot. */
export interface StoredDisk {
  disk: string;
  imageId: string;
  imageName: string;
  location: string;
  sizeBytes: number;
  virtualSizeBytes: number;
  sha256: string;
}

/** The answer of the `progress` query. */
export interface SnapshotProgress {
  step: string;
  percent: number;
  bytesDone: number;
  bytesTotal: number;
}

/** What a long activity reports to its workflow while it runs. */
export interface StepProgressReport {
  step: string;
  bytesDone: number;
  bytesTotal: number;
}
