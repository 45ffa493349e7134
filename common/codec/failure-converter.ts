import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failures with their message and stack trace moved into an encoded payload, so the payload codec
 * encrypts them too (a failure message may name a disk path). Workers load it by path
 * (`failureConverterPath`): it also runs inside the workflow sandbox, so it imports nothing else.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
