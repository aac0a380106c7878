// Worker entry when the app runs from TypeScript sources (ts-jest): the compiled build uses worker.js
// next to pool.js instead. Node 20 cannot load .ts files, so they are transpiled on require with the
// project's own TypeScript (a dev dependency, never needed by the build).
'use strict';
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true, sourceMap: false },
  });
  module._compile(outputText, filename);
};

module.exports = require('./worker.ts');
