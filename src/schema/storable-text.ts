// One rule for every argument of every field: text PostgreSQL cannot store
// (src/text.ts) is VALIDATION naming the field, before any resolver, zod rule
// or id decoding sees it. A Pothos plugin, so it holds for fields added later
// without anyone remembering it; registered last in builder.ts, so its
// argument mapper runs first (Pothos runs mappers from the last plugin to the
// first) and the errors plugin makes its failure a mutation's `ValidationError`.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import { ValidationError } from '../errors.ts';
import { unstorableReason } from '../text.ts';

/** Throws for the first string inside `value` that cannot be stored; `path` names where it is. */
function checkText(value: unknown, path: string[]): void {
  if (typeof value === 'string') {
    const reason = unstorableReason(value);
    if (!reason) return;
    // Named as the validation plugin names fields: without the `input` argument.
    const field = (path[0] === 'input' ? path.slice(1) : path).join('.');
    throw new ValidationError(`${field}: ${reason}`, field);
  }
  if (Array.isArray(value)) value.forEach((item, i) => checkText(item, [...path, String(i)]));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) checkText(item, [...path, key]);
  }
}

export class StorableTextPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    if (Object.keys(fieldConfig.args).length === 0) return fieldConfig;
    return {
      ...fieldConfig,
      argMappers: [
        ...(fieldConfig.argMappers ?? []),
        (args) => {
          checkText(args, []);
          return args;
        },
      ],
    };
  }
}

const pluginName = 'storableText';

declare global {
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      storableText: StorableTextPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin(pluginName, StorableTextPlugin);

export default pluginName;
