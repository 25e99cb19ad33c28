/** The patriot module: client registry API (issue 3) and the import pipeline to Patriot (issue 4). */
import { defineModule } from '../../core/module.js';
import { CLIENT_STATE_SQL, IMPORT_MIGRATION, importCommands, registerImport } from './import/index.js';

export default defineModule({
  name: 'patriot',
  migrations: [
    // replaced by the API's migration 1 (which creates patriot_client_state) when its branch is merged
    { version: 1, name: 'client state', sql: CLIENT_STATE_SQL },
    { version: 2, ...IMPORT_MIGRATION },
  ],
  plugin: async (app) => {
    await registerImport(app);
  },
  commands: { ...importCommands() },
});
