// Users and indexes of TechShop's MongoDB, from init-config.json (rendered
// from values). bootstrap.sh loads it into mongosh on the primary (or the
// standalone), authenticated as root, once per pod. Safe to run any number of
// times:
//   - a user that does not exist is created;
//   - a user that exists is updated: password (rotation) and roles reset to
//     what the config says;
//   - createIndex() of an index that exists with the same keys and options
//     does nothing.
// Passwords come from the files of the mounted Secret (<NAME>_FILE), read here,
// never from init-config.json and never from the environment.
(function init() {
  const config = JSON.parse(require('fs').readFileSync(process.env.MONGODB_INIT_CONFIG, 'utf8'));

  function ensureUser(spec) {
    const file = process.env[spec.passwordFileEnv];
    if (!file) throw new Error(`${spec.passwordFileEnv} is not set: no password file for ${spec.user}@${spec.db}`);
    const pwd = require('fs').readFileSync(file, 'utf8');
    if (!pwd) throw new Error(`${spec.passwordFileEnv} (${file}) is empty: no password for ${spec.user}@${spec.db}`);
    const database = db.getSiblingDB(spec.db);
    if (database.getUser(spec.user) === null) {
      database.createUser({ user: spec.user, pwd, roles: spec.roles });
      print(`user ${spec.user}@${spec.db}: created`);
    } else {
      database.updateUser(spec.user, { pwd, roles: spec.roles });
      print(`user ${spec.user}@${spec.db}: updated`);
    }
  }

  for (const spec of config.users) ensureUser(spec);

  const appDb = db.getSiblingDB(config.database);
  for (const index of config.indexes) {
    // keys is a list of one-entry objects: their order is the index's key order.
    const keys = Object.assign({}, ...index.keys);
    const name = appDb.getCollection(index.collection).createIndex(keys, index.options || {});
    print(`index ${config.database}.${index.collection} ${name}: ensured`);
  }
})();
