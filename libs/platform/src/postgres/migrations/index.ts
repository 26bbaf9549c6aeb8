import { CoreSchema1700000000000 } from './1700000000000-core-schema';

/** Every migration, in order. Append new ones; never edit one that has shipped. */
export const migrations = [CoreSchema1700000000000];
