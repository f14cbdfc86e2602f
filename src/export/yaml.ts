// YAML text for exported deployments: block style, no line folding, no anchors, and quoting that
// keeps every value what it was for both YAML 1.2 (openem-config) and YAML 1.1 (PyYAML, prefect).
import { Document, isPair, isScalar, parse, Scalar, visit } from 'yaml';
import type { JsonValue } from '../config/types.js';

/** Renders `value` with `comment` (lines without `#`) above it. */
export function renderYaml(value: JsonValue, comment?: string): string {
  const doc = new Document(value, { aliasDuplicateObjects: false });
  visit(doc, {
    Pair(_, pair) {
      // A plain `<<` key is a merge key to YAML readers: quoted, it is the key it was.
      if (isPair(pair) && isScalar(pair.key) && pair.key.value === '<<') pair.key.type = Scalar.QUOTE_DOUBLE;
    },
    Scalar(_, scalar) {
      if (typeof scalar.value !== 'string') return;
      const text = scalar.value;
      // Trailing blanks in a block scalar would be lost to editors that trim lines; quoted, they stay.
      if (/[ \t](\n|$)/.test(text) && text.includes('\n')) scalar.type = Scalar.QUOTE_DOUBLE;
      else if (!text.includes('\n') && readsAsNonStringInYaml11(text)) scalar.type = Scalar.QUOTE_DOUBLE;
    },
  });
  if (comment) doc.commentBefore = comment.split('\n').map((line) => ` ${line}`).join('\n');
  return doc.toString({ lineWidth: 0, indentSeq: true });
}

/** `yes`, `off`, `1:20`, `2024-01-01T00:00:00Z`...: strings to YAML 1.2, but booleans, numbers or dates to PyYAML. */
function readsAsNonStringInYaml11(text: string): boolean {
  if (text === '' || text.length > 64) return false;
  try {
    return parse(text, { version: '1.1', logLevel: 'silent' }) !== text;
  } catch {
    return false;
  }
}
