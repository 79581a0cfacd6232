// `engines` says which Node versions the gateway supports, and every package
// the lockfile installs supports all of them: so `npm install` on any of them
// prints no EBADENGINE warning, and nothing is installed that expects a newer
// Node than the one running it.
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  packages: Record<string, { version?: string; engines?: Record<string, string> | string[]; os?: string[]; cpu?: string[]; link?: boolean }>;
};

/** Installed on this machine: npm skips packages for another os or cpu (and checks only what it installs). */
function installedHere(entry: { os?: string[]; cpu?: string[] }): boolean {
  const allows = (list: string[] | undefined, value: string): boolean => {
    if (!list || list.includes(`!${value}`)) return !list;
    const named = list.filter((v) => !v.startsWith('!'));
    return named.length === 0 || named.includes(value);
  };
  return allows(entry.os, process.platform) && allows(entry.cpu, process.arch);
}

describe('Node versions', () => {
  const supported = pkg.engines.node;

  it('engines names the maintained LTS lines and this machine\'s Node', () => {
    expect(semver.validRange(supported)).not.toBeNull();
    for (const version of ['20.19.0', '22.13.0', '24.0.0']) expect(semver.satisfies(version, supported), version).toBe(true);
    expect(semver.satisfies(process.version, supported)).toBe(true);
  });

  it('every package the lockfile installs accepts every supported Node version (no EBADENGINE)', () => {
    const narrower: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '' || entry.link || !installedHere(entry) || Array.isArray(entry.engines)) continue;
      const wanted = entry.engines?.['node'];
      if (wanted === undefined) continue;
      if (!semver.subset(supported, wanted)) narrower.push(`${path}@${entry.version}: node ${wanted}`);
    }
    expect(narrower).toEqual([]);
  });

  it('the image runs a Node version engines supports', () => {
    const major = /^ARG NODE_VERSION=(\d+)$/m.exec(readFileSync('Dockerfile', 'utf8'))?.[1];
    expect(major).toBeDefined();
    expect(semver.intersects(`^${major}`, supported)).toBe(true);
  });
});
