// Completes package-lock.json with the platform binaries of packages that ship one optional
// dependency per platform (Biome, resvg, ...). A registry mirror that serves only some platforms
// makes `npm install` leave the others out, and then `npm ci` refuses the lockfile as incomplete.
// Each added entry carries its os/cpu/libc, so npm skips it on other platforms; where the registry
// has it, npm fetches it by name and version. Run after changing dependencies: node scripts/complete-lockfile.cjs
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const packages = lock.packages;
const PLATFORM =
  /-(android|darwin|linux|win32|freebsd|openbsd|sunos|aix)-([a-z0-9]+?)(?:-(musl|gnu|msvc|gnueabihf|eabi))?$/;
let added = 0;
for (const entry of Object.values(packages)) {
  const optional = Object.keys(entry.optionalDependencies ?? {});
  const known = optional.map((name) => packages[`node_modules/${name}`]).find(Boolean);
  if (!known) continue;
  for (const name of optional) {
    const key = `node_modules/${name}`;
    const match = name.match(PLATFORM);
    if (packages[key] || !match) continue;
    const [, os, cpu, abi] = match;
    packages[key] = {
      version: entry.optionalDependencies[name].replace(/^[\^~=]/, ''),
      cpu: [cpu],
      ...(known.dev ? { dev: true } : {}),
      license: known.license,
      optional: true,
      os: [os],
      ...(os === 'linux' ? { libc: [abi === 'musl' ? 'musl' : 'glibc'] } : {}),
      ...(known.engines ? { engines: known.engines } : {}),
    };
    added++;
  }
}
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} platform entries added`);
