/**
 * Operators configure the archive from the README's Configuration table: every setting the loader reads has a row
 * there, and a default the table states plainly (a number, or one value in backticks) is the one the loader applies.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, SETTING_NAMES } from '../../../shared/config';
import { minimalLocalEnv } from '../../support/config-env';

interface Row { names: string[]; defaults: string[] }

function configurationTable(): Row[] {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration\n'), readme.indexOf('\n## Layout\n'));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [names = '', defaults = ''] = line.split(' | ');
      return { names: [...names.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!), defaults: defaults.split(', ').map((d) => d.trim()) };
    });
}

/** A default stated plainly: `12345` or `12345 (12 KiB)` or `1e9`, or one value in backticks; anything else (words, units) is prose. */
function plainDefault(text: string): number | string | undefined {
  const number = /^(\d[\d.e+]*)(?: \([^)]*\))?$/.exec(text);
  if (number) return Number(number[1]);
  const quoted = /^`([^`]+)`$/.exec(text);
  return quoted ? quoted[1] : undefined;
}

it('has a row for every setting the config loader reads, and for nothing it does not', () => {
  const named = configurationTable().flatMap((r) => r.names);
  expect(SETTING_NAMES.filter((name) => !named.includes(name))).toEqual([]);
  expect(named.filter((name) => !SETTING_NAMES.includes(name))).toEqual([]);
});

it('states the defaults the loader applies', () => {
  const config = loadConfig(minimalLocalEnv) as unknown as Record<string, unknown>;
  const stated: [string, number | string, unknown][] = [];
  for (const row of configurationTable()) {
    if (row.defaults.length !== row.names.length) continue; // one default told in words for several settings
    row.names.forEach((name, i) => {
      const value = plainDefault(row.defaults[i]!);
      if (value === undefined || name in minimalLocalEnv) return;
      const applied = config[name];
      stated.push([name, value, Array.isArray(applied) ? applied.join(',') : applied]);
    });
  }
  expect(stated.length).toBeGreaterThan(30);
  for (const [name, value, applied] of stated) expect({ name, default: applied }).toEqual({ name, default: value });
});
