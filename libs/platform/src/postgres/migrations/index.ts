import { CoreSchema1700000000000 } from './1700000000000-core-schema';
import { BatchVersions1700000400000 } from './1700000400000-batch-versions';
import { RealtimeStarts1700000500000 } from './1700000500000-realtime-starts';

/** Every migration, in order. Append new ones; never edit one that has shipped. */
export const migrations = [CoreSchema1700000000000, BatchVersions1700000400000, RealtimeStarts1700000500000];
