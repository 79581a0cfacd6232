// Typed operations for a client in this repository (the console, the typed
// client example): graphql-codegen's client preset, given every graphql(`…`)
// call under a source folder and the gateway's schema.graphql, checks each
// operation against the schema and writes their result and variable types to
// <folder>/gql (generated on build, not committed).
//
// This runs the preset through @graphql-codegen/core rather than
// @graphql-codegen/cli: the CLI's loaders (URL, GitHub, Apollo Engine, which
// we never use) need Node 22.15, and this project supports Node 20.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { codegen } from '@graphql-codegen/core';
import { preset, type ClientPresetConfig } from '@graphql-codegen/client-preset';
import type { Types } from '@graphql-codegen/plugin-helpers';
import { buildSchema, parse, printSchema } from 'graphql';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The options of the preset and of the plugins it runs. */
const config = {
  useTypeImports: true,
  enumsAsTypes: true,
  scalars: { DateTime: 'string', JSON: 'unknown' },
};
const presetConfig: ClientPresetConfig = { fragmentMasking: false };

/** Every graphql(`…`) call: a template without substitutions, exactly as written (the preset keys its map on the text). */
const CALL = /\bgraphql\(\s*`([^`]*)`\s*\)/g;

async function sourceFiles(dir: string, outputDir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((file) => !file.startsWith(outputDir + path.sep))
    .sort();
}

async function documents(sourceDir: string, outputDir: string): Promise<Types.DocumentFile[]> {
  const found: Types.DocumentFile[] = [];
  for (const file of await sourceFiles(sourceDir, outputDir)) {
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(CALL)) {
      const rawSDL = match[1]!;
      const location = path.relative(root, file);
      if (rawSDL.includes('${')) throw new Error(`${location}: graphql(\`…\`) takes no \${…}: name fragments in the text instead`);
      try {
        found.push({ location, document: parse(rawSDL), rawSDL });
      } catch (error) {
        throw new Error(`${location}: ${(error as Error).message}`);
      }
    }
  }
  if (found.length === 0) throw new Error(`no graphql(\`…\`) operation found in ${path.relative(root, sourceDir)}`);
  return found;
}

/** Writes the types of every operation under `folder` (relative to the repository root) into `folder/gql`. */
export async function generateClientTypes(folder: string): Promise<void> {
  const sourceDir = path.join(root, folder);
  const outputDir = path.join(sourceDir, 'gql');
  const schemaAst = buildSchema(await readFile(path.join(root, 'schema.graphql'), 'utf8'));
  const schema = parse(printSchema(schemaAst));
  const outputs = await preset.buildGeneratesSection({
    baseOutputDir: `${path.relative(root, outputDir)}/`,
    schema,
    schemaAst,
    documents: await documents(sourceDir, outputDir),
    config,
    presetConfig,
    plugins: [],
    pluginMap: {},
    pluginContext: {},
    documentTransforms: [],
  });
  await rm(outputDir, { recursive: true, force: true });
  await mkdir(outputDir, { recursive: true });
  // codegen() validates every operation against the schema and throws on the first that does not fit.
  for (const output of outputs) {
    const content = await codegen({ ...output, schemaAst });
    await writeFile(path.join(root, output.filename), content);
  }
}

/** The same as a command: exits 1 naming every operation that does not fit the schema. */
export function runClientCodegen(name: string, folder: string): void {
  generateClientTypes(folder).catch((error: unknown) => {
    const details = (error as { errors?: unknown[] }).errors;
    console.error(`${name} codegen: ${(error as Error).message}`);
    if (Array.isArray(details)) for (const e of details) console.error(`  ${(e as Error).message ?? String(e)}`);
    process.exit(1);
  });
}
