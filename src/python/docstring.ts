// Docstrings: inspect.cleandoc, and griffe's Google-style parser as Prefect uses it to describe
// parameters (prefect.utilities.callables.parameter_docstrings).

const PYTHON_SPACE = /[\s\x1c-\x1f\x85]/u;

function isPythonSpace(char: string): boolean {
  return PYTHON_SPACE.test(char) && char !== '\uFEFF';
}

function lstrip(text: string): string {
  let i = 0;
  while (i < text.length && isPythonSpace(text[i] as string)) i += 1;
  return text.slice(i);
}

function rstrip(text: string): string {
  let end = text.length;
  while (end > 0 && isPythonSpace(text[end - 1] as string)) end -= 1;
  return text.slice(0, end);
}

function expandTabs(text: string): string {
  let out = '';
  let column = 0;
  for (const char of text) {
    if (char === '\t') {
      const spaces = 8 - (column % 8);
      out += ' '.repeat(spaces);
      column += spaces;
    } else {
      out += char;
      column = char === '\n' || char === '\r' ? 0 : column + 1;
    }
  }
  return out;
}

/** inspect.cleandoc (Python 3.11). */
export function cleandoc(doc: string): string {
  const lines = expandTabs(doc).split('\n');
  let margin = Infinity;
  for (const line of lines.slice(1)) {
    const content = lstrip(line).length;
    if (content > 0) margin = Math.min(margin, line.length - content);
  }
  lines[0] = lstrip(lines[0] as string);
  if (margin < Infinity) for (let i = 1; i < lines.length; i += 1) lines[i] = (lines[i] as string).slice(margin);
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  while (lines.length > 0 && lines[0] === '') lines.shift();
  return lines.join('\n');
}

const SECTION_TITLE = /^([\p{L}\p{N}_][\s\p{L}\p{N}_-]*):(\s+(\S.*))?\s*$/u;
const PARAMETER_SECTIONS = new Set(['args', 'arguments', 'params', 'parameters']);
const OTHER_SECTIONS = new Set([
  'keyword args', 'keyword arguments', 'other args', 'other arguments', 'other params', 'other parameters',
  'type args', 'type arguments', 'type params', 'type parameters', 'raises', 'exceptions', 'returns', 'yields',
  'receives', 'examples', 'attributes', 'functions', 'methods', 'classes', 'type aliases', 'modules', 'warns', 'warnings',
]);

function isEmptyLine(line: string | undefined): boolean {
  return line === undefined || lstrip(line) === '';
}

/** Parameter descriptions from the last Args/Parameters section, exactly as griffe 2 reads them. */
export function parameterDescriptions(docstring: string): Map<string, string> {
  const lines = cleandoc(rstrip(docstring)).split('\n');
  let descriptions = new Map<string, string>();
  let inCodeBlock = false;
  for (let offset = 0; offset < lines.length; offset += 1) {
    const line = lines[offset] as string;
    const fence = line.toLowerCase().replace(/^ +/, '').startsWith('```');
    if (inCodeBlock || fence) {
      if (fence) inCodeBlock = !inCodeBlock;
      continue;
    }
    const match = SECTION_TITLE.exec(line);
    if (!match) continue;
    const kind = (match[1] as string).toLowerCase();
    const blankAbove = offset === 0 || isEmptyLine(lines[offset - 1]);
    const blankBelow = offset < lines.length - 1 && isEmptyLine(lines[offset + 1]);
    const blanksBelow = offset < lines.length - 2 && isEmptyLine(lines[offset + 2]);
    const indentedBelow = offset < lines.length - 1 && !blankBelow && (lines[offset + 1] as string).startsWith(' ');
    const indentedTwoBelow = offset < lines.length - 2 && !blanksBelow && (lines[offset + 2] as string).startsWith(' ');
    if (!(indentedBelow || indentedTwoBelow) || !blankAbove || (indentedTwoBelow && blankBelow)) continue;
    if (PARAMETER_SECTIONS.has(kind)) {
      const block = readBlockItems(lines, offset + 1);
      descriptions = new Map();
      for (const item of block.items) {
        const head = item[0] as string;
        const colon = head.indexOf(':');
        if (colon === -1) continue;
        const nameWithType = head.slice(0, colon);
        const description = [lstrip(head.slice(colon + 1)), ...item.slice(1)].join('\n').replace(/\n+$/, '');
        const name = nameWithType.includes('(') && nameWithType.endsWith(')') ? (nameWithType.split('(')[0] as string).trim() : nameWithType;
        descriptions.set(name, description);
      }
      offset = block.last;
    } else if (OTHER_SECTIONS.has(kind) && kind !== 'examples') offset = readBlockItems(lines, offset + 1).last;
    else offset = readBlockEnd(lines, offset + 1);
  }
  return descriptions;
}

/** griffe's _read_block_items: items at the first indentation, continuation lines at twice that. */
function readBlockItems(lines: string[], start: number): { items: string[][]; last: number } {
  let offset = start;
  while (offset < lines.length && isEmptyLine(lines[offset])) offset += 1;
  if (offset >= lines.length) return { items: [], last: offset - 1 };
  const first = lines[offset] as string;
  const indent = first.length - first.replace(/^\s+/u, '').length;
  if (indent === 0) return { items: [], last: offset - 1 };
  const items: string[][] = [];
  let current: string[] = [first.slice(indent)];
  offset += 1;
  for (; offset < lines.length; offset += 1) {
    const line = lines[offset] as string;
    if (isEmptyLine(line)) current.push('');
    else if (line.startsWith(' '.repeat(indent * 2))) current.push(line.slice(indent * 2));
    else if (line.startsWith(' '.repeat(indent + 1))) current.push(line.replace(/^\s+/u, ''));
    else if (line.startsWith(' '.repeat(indent))) {
      items.push(current);
      current = [line.slice(indent)];
    } else break;
  }
  items.push(current);
  return { items, last: offset - 1 };
}

/** griffe's _read_block: where an indented block ends (examples and admonitions). */
function readBlockEnd(lines: string[], start: number): number {
  let offset = start;
  while (offset < lines.length && isEmptyLine(lines[offset])) offset += 1;
  const first = lines[offset];
  if (first === undefined) return offset - 1;
  const indent = first.length - first.replace(/^\s+/u, '').length;
  if (indent === 0) return start - 1;
  offset += 1;
  while (offset < lines.length && ((lines[offset] as string).startsWith(' '.repeat(indent)) || isEmptyLine(lines[offset]))) offset += 1;
  return offset - 1;
}
