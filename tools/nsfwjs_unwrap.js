// nsfwjs_unwrap.js - turns the JS modules of nsfwjs's dist/models/<model>/
// back into the plain TF.js files they wrap: model.min.js exports the
// model.json object, each group*-shard*.min.js exports one weight shard as a
// base64 string.
//
// The modules are evaluated in a fresh V8 context that has only `module` and
// `exports` (no require, no process, no file system), after the tarball's
// sha256 has been checked by tools/fetch_nsfwjs.sh.
//
// usage: node tools/nsfwjs_unwrap.js SRC_DIR OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

function exportsOf(file) {
  const sandbox = { module: { exports: {} } };
  sandbox.exports = sandbox.module.exports;
  vm.runInNewContext(fs.readFileSync(file, 'utf8'), sandbox,
                     { filename: file, timeout: 60000 });
  return sandbox.module.exports;
}

function main() {
  if (process.argv.length !== 4) {
    console.error('usage: node nsfwjs_unwrap.js SRC_DIR OUT_DIR');
    process.exit(2);
  }
  const [src, out] = process.argv.slice(2);
  fs.mkdirSync(out, { recursive: true });

  const model = exportsOf(path.join(src, 'model.min.js'));
  if (!model || typeof model !== 'object' || !model.weightsManifest) {
    throw new Error('model.min.js does not export a TF.js model.json object');
  }
  // Round trip through JSON so that the object leaves the sandbox as data.
  const json = JSON.stringify(model);
  fs.writeFileSync(path.join(out, 'model.json'), json + '\n');

  let shards = 0;
  for (const group of JSON.parse(json).weightsManifest) {
    for (const shard of group.paths) {
      if (!/^[A-Za-z0-9_.-]+$/.test(shard)) {
        throw new Error(`unexpected shard name '${shard}'`);
      }
      const b64 = exportsOf(path.join(src, shard + '.min.js'));
      if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
        throw new Error(`${shard}.min.js does not export a base64 string`);
      }
      fs.writeFileSync(path.join(out, shard), Buffer.from(b64, 'base64'));
      shards++;
    }
  }
  console.log(`nsfwjs_unwrap: model.json and ${shards} shards -> ${out}`);
}

main();
