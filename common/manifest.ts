/** The manifest stored beside every image: enough to know where it came from without Temporal. */
export interface ImageManifest {
  imageId: string;
  name: string;
  format: 'qcow2' | 'raw';
  sizeBytes: number;
  virtualSizeBytes: number;
  sha256: string;
  source: { host: string; domain: string; disk: string };
  mode: string;
  workflowId: string;
  createdAt: string;
  properties: Record<string, string>;
}
