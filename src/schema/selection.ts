// What a field's selection asks for, read from the operation itself.
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * True when every field selected under this field (through inline fragments
 * and fragment spreads, whatever their directives) is one of `allowed`.
 */
export function asksOnly(info: GraphQLResolveInfo, allowed: ReadonlySet<string>): boolean {
  const within = (set: SelectionSetNode | undefined, seen: Set<string>): boolean => {
    if (!set) return true;
    return set.selections.every((selection) => {
      if (selection.kind === Kind.FIELD) return allowed.has(selection.name.value);
      if (selection.kind === Kind.INLINE_FRAGMENT) return within(selection.selectionSet, seen);
      const name = selection.name.value;
      if (seen.has(name)) return true;
      seen.add(name);
      return within(info.fragments[name]?.selectionSet, seen);
    });
  };
  return info.fieldNodes.every((node) => within(node.selectionSet, new Set()));
}
