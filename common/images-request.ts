import { z } from 'zod';
import { backupType, domainName, hostName, imageRef, storeName } from './names.js';
import { parseWith } from './validation.js';

/** The argument of `listImages`: a host's stores (or one of them), optionally one domain's images. */
export const listImagesRequestSchema = z
  .object({
    host: hostName,
    store: storeName.optional(),
    domain: domainName.optional(),
    backupType: backupType.optional(),
  })
  .strict();

/** The argument of `deleteImage`: one image (ID or name) of one store. */
export const deleteImageRequestSchema = z
  .object({
    host: hostName,
    store: storeName,
    image: imageRef,
  })
  .strict();

export type ListImagesRequest = z.output<typeof listImagesRequestSchema>;
export type DeleteImageRequest = z.output<typeof deleteImageRequestSchema>;

export const parseListImagesRequest = (input: unknown) => parseWith(listImagesRequestSchema, input);
export const parseDeleteImageRequest = (input: unknown) => parseWith(deleteImageRequestSchema, input);
