/** The patriot module (see its issue and ../shared/specs). Not built yet: mounts nothing. */
import { defineModule } from '../../core/module.js';

export default defineModule({
  name: 'patriot',
  migrations: [],
  plugin: async () => {},
});
