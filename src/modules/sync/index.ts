/** The sync module (see its issue and ../shared/specs). Not built yet: mounts nothing. */
import { defineModule } from '../../core/module.js';

export default defineModule({
  name: 'sync',
  migrations: [],
  plugin: async () => {},
});
