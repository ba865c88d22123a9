/** The toolkit's version, from its package.json (two levels above the compiled dist/src/util). */
import { readFileSync } from 'node:fs';

export function skelpruneVersion(): string {
  const path = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}
