// Prints the framework's version and the number of files its manifest lists. Writes nothing.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = fs.realpathSync(process.env.CODITECT_FRAMEWORK_DIR || path.join(os.homedir(), '.coditect'));
const version = fs.readFileSync(path.join(root, 'VERSION'), 'utf8').trim();
const files = fs.readFileSync(path.join(root, 'MANIFEST.sha256'), 'utf8').split('\n').filter(Boolean).length;
console.log(`coditect framework ${version} (node ${process.versions.node}): ${files} files`);
