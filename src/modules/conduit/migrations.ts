/** The conduit tables. Datapoints are keyed (device, channel, time): a re-sent datapoint replaces its value. */
import type { Migration } from '../../core/db.js';

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'conduit users, sites, devices, channels, datapoints',
    sql: `
      CREATE TABLE conduit_sites (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
      );
      CREATE TABLE conduit_users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        token_hash TEXT NOT NULL UNIQUE,
        enabled INTEGER NOT NULL DEFAULT 1,
        http_api INTEGER NOT NULL DEFAULT 1,
        throttle_seconds REAL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE conduit_user_sites (
        user_id INTEGER NOT NULL REFERENCES conduit_users(id) ON DELETE CASCADE,
        site_id INTEGER NOT NULL REFERENCES conduit_sites(id) ON DELETE CASCADE,
        PRIMARY KEY (user_id, site_id)
      ) WITHOUT ROWID;
      CREATE TABLE conduit_devices (
        id INTEGER PRIMARY KEY,
        netid TEXT NOT NULL UNIQUE,
        site_id INTEGER NOT NULL REFERENCES conduit_sites(id),
        tag TEXT, type TEXT, label TEXT, category TEXT, powersource TEXT, manufacturer TEXT,
        supplier TEXT, model TEXT, serial TEXT, network TEXT,
        lat REAL, lng REAL,
        error INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX conduit_devices_site ON conduit_devices(site_id);
      CREATE TABLE conduit_channels (
        device_id INTEGER NOT NULL REFERENCES conduit_devices(id) ON DELETE CASCADE,
        chid INTEGER NOT NULL,
        type TEXT,
        description TEXT,
        cal REAL NOT NULL DEFAULT 0,
        offset REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (device_id, chid)
      ) WITHOUT ROWID;
      CREATE TABLE conduit_datapoints (
        device_id INTEGER NOT NULL,
        chid INTEGER NOT NULL,
        val_date INTEGER NOT NULL,
        val_raw REAL NOT NULL,
        PRIMARY KEY (device_id, chid, val_date)
      ) WITHOUT ROWID;
      CREATE INDEX conduit_datapoints_date ON conduit_datapoints(val_date);
    `,
  },
  {
    version: 2,
    name: 'conduit user plans (spec, standard, pro, enterprise)',
    sql: `
      ALTER TABLE conduit_users ADD COLUMN plan TEXT NOT NULL DEFAULT 'spec'
        CHECK (plan IN ('spec', 'standard', 'pro', 'enterprise'));
    `,
  },
];
