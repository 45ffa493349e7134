import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_NAMES } from './constants.js';

export const VMSNAP_HOST = defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.host, SearchAttributeType.KEYWORD);
export const VMSNAP_DOMAIN = defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.domain, SearchAttributeType.KEYWORD);
export const VMSNAP_MODE = defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.mode, SearchAttributeType.KEYWORD);
