#!/usr/bin/env node
// Generates TypeScript types for proto/samveteran/v1/*.proto into core/generated/ with
// @grpc/proto-loader's proto-loader-gen-types. The options here MUST match the runtime loader
// options in core/wire/proto-options.ts (camelCase fields, longs as Number, enums as String,
// bytes as Buffer, defaults, oneofs).
//
//   node bin/gen-proto.js           regenerate core/generated/
//   node bin/gen-proto.js --check   regenerate into a temp dir and diff; exit 1 when stale
import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  existsSync,
  mkdirSync,
  cpSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const protoRoot = join(root, 'proto');
const outDir = join(root, 'core', 'generated');
const genBin = join(
  root,
  'node_modules',
  '@grpc',
  'proto-loader',
  'build',
  'bin',
  'proto-loader-gen-types.js',
);

function protoFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...protoFiles(p));
    else if (name.endsWith('.proto')) out.push(relative(protoRoot, p));
  }
  return out;
}

function generate(target) {
  mkdirSync(target, { recursive: true });
  execFileSync(
    process.execPath,
    [
      genBin,
      '--longs=Number',
      '--enums=String',
      '--defaults',
      '--oneofs',
      '--includeComments',
      '--grpcLib=@grpc/grpc-js',
      '--importFileExtension=.ts',
      '-I',
      protoRoot,
      '-O',
      target,
      ...protoFiles(protoRoot),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  // The tool writes the absolute proto path into each header; make it relative so the output is
  // the same in every clone (and --check is meaningful).
  for (const f of listFiles(target)) {
    const p = join(target, f);
    const text = readFileSync(p, 'utf8').split(`${protoRoot}/`).join('proto/');
    writeFileSync(p, text);
  }
}

function listFiles(dir, base = dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, base));
    else out.push(relative(base, p));
  }
  return out;
}

const check = process.argv.includes('--check');
const tmp = mkdtempSync(join(tmpdir(), 'gen-proto-'));
try {
  generate(tmp);
  if (check) {
    const want = listFiles(tmp);
    const have = listFiles(outDir);
    const stale = [];
    for (const f of new Set([...want, ...have])) {
      const a = want.includes(f) ? readFileSync(join(tmp, f), 'utf8') : null;
      const b = have.includes(f) ? readFileSync(join(outDir, f), 'utf8') : null;
      if (a !== b)
        stale.push(`${f} (${a === null ? 'should not exist' : b === null ? 'missing' : 'differs'})`);
    }
    if (stale.length > 0) {
      console.error(`core/generated is stale; run \`npm run proto:gen\`:\n  ${stale.join('\n  ')}`);
      process.exit(1);
    }
    console.log(`core/generated is up to date (${want.length} files)`);
  } else {
    rmSync(outDir, { recursive: true, force: true });
    cpSync(tmp, outDir, { recursive: true });
    console.log(`generated ${listFiles(outDir).length} files into core/generated`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
