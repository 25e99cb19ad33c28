/** The four modules, in mount order. The only file that knows them all (besides the CLI). */
import type { FieldhubModule } from '../core/module.js';
import conduit from './conduit/index.js';
import patriot from './patriot/index.js';
import push from './push/index.js';
import sync from './sync/index.js';

export const modules: readonly FieldhubModule[] = [sync, push, conduit, patriot];
