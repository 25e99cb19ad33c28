/** The push module (see its issue and ../shared/specs). Not built yet: mounts nothing. */
import { defineModule } from '../../core/module.js';

export default defineModule({
  name: 'push',
  migrations: [],
  plugin: async () => {},
});
