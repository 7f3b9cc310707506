// Race script 8, for vma_rwsem (Linux 6.4-6.13): mm_lock_seq moves once per write cycle, at
// unlock, so a full turn takes 2^32 cycles rather than 2^31. See seq_wrap.ts.

import { seqWrapScript } from './seq_wrap.js';

export default seqWrapScript('vma_rwsem');
