import { z } from 'zod';
import { DEFAULT_STORE } from './constants.js';
import { domainName, hostName, imageRef, storeName } from './names.js';
import { parseWith } from './validation.js';

/**
 * The argument of `restoreInstance`: an image of a store on `host`, restored either onto `domain`
 * in place (its disk replaced) or, with `asNew`, as a new domain of that name.
 */
export const restoreRequestSchema = z
  .object({
    host: hostName,
    /** @default 'default' */
    store: storeName.default(DEFAULT_STORE),
    /** Image ID or name in the store. */
    image: imageRef,
    /** The domain to restore onto, or the name of the new domain. */
    domain: domainName,
    /** Define a new domain instead of replacing the disk of an existing one. @default false */
    asNew: z.boolean().default(false),
    /** New domain: the domain whose memory and CPUs it copies. @default the image's source domain */
    template: domainName.optional(),
    memoryMiB: z.number().int().min(16).max(4_194_304).optional(),
    vcpus: z.number().int().min(1).max(1024).optional(),
    /** Boot the domain on the restored disk (proves it boots before the old disk goes). @default true */
    start: z.boolean().default(true),
    /** In place: how long a running domain may take to shut down before it is powered off. @default 60 */
    shutdownGraceSeconds: z.number().int().min(0).max(3600).default(60),
  })
  .strict();

export type RestoreRequestInput = z.input<typeof restoreRequestSchema>;
export type RestoreRequest = z.output<typeof restoreRequestSchema>;

export const parseRestoreRequest = (input: unknown) => parseWith(restoreRequestSchema, input);

/** The result of `restoreInstance`. */
export interface RestoreResult {
  workflowId: string;
  host: string;
  domain: string;
  asNew: boolean;
  store: string;
  imageId: string;
  imageName: string;
  sha256: string;
  diskPath: string;
  started: boolean;
  steps: { name: string; ms: number }[];
  downtimeMs: number;
}
