// The nodes of a parsed prefect.yaml as the deployments reader sees their values: through aliases,
// and through `<<:` merges with a mapping's own keys first, then each merged mapping's in order.
// migrate finds here the one pair that gives a deployment a key, to rewrite it where it is written.
import { isAlias, isMap, isNode, isScalar, isSeq, visit, type Alias, type Document, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { aliasTargets } from '../config/yaml.js';

/** A pair, and the mapping it is written in (a deployment's own, or an anchored one it merges). */
export interface Provider {
  pair: Pair;
  owner: YAMLMap;
}

export class DocumentView {
  private readonly targets: Map<Alias, unknown>;

  constructor(doc: Document) {
    this.targets = aliasTargets(doc);
  }

  /** The node itself, or the one an alias names. */
  resolve(node: unknown): unknown {
    return isAlias(node) ? this.targets.get(node) : node;
  }

  map(node: unknown): YAMLMap | undefined {
    const resolved = this.resolve(node);
    return isMap(resolved) ? resolved : undefined;
  }

  seq(node: unknown): YAMLSeq | undefined {
    const resolved = this.resolve(node);
    return isSeq(resolved) ? resolved : undefined;
  }

  /**
   * The pairs that give `map` the key, the one that counts first: its own, then those of its `<<:`
   * merges in order (a mapping the reader has already checked, so with unique keys and no merge
   * of itself). More than one means that removing the first would bring the next into effect.
   */
  providers(map: YAMLMap, key: string, seen: Set<YAMLMap> = new Set()): Provider[] {
    if (seen.has(map)) return [];
    seen.add(map);
    const found: Provider[] = [];
    for (const pair of map.items) if (!this.isMerge(pair) && this.keyOf(pair) === key) found.push({ pair, owner: map });
    for (const pair of map.items) {
      if (!this.isMerge(pair)) continue;
      const source = this.resolve(pair.value);
      const sources = isSeq(source) ? source.items.map((item) => this.resolve(item)) : [source];
      for (const merged of sources) if (isMap(merged)) found.push(...this.providers(merged, key, seen));
    }
    return found;
  }

  /** The value of the key that counts in `map`. */
  valueOf(map: YAMLMap, key: string): unknown {
    return this.providers(map, key)[0]?.pair.value;
  }

  keyOf(pair: Pair): string | undefined {
    const key = this.resolve(pair.key);
    return isScalar(key) && (typeof key.value === 'string' || typeof key.value === 'number' || typeof key.value === 'boolean') ? String(key.value) : undefined;
  }

  /** Anchors defined inside `nodes` that an alias outside them names: removing the nodes would leave that alias without its anchor. */
  anchorsUsedOutside(nodes: readonly unknown[]): string[] {
    const inside = new Set<unknown>();
    for (const node of nodes) {
      if (!isNode(node)) continue;
      inside.add(node);
      visit(node, { Node: (_key, child) => void inside.add(child) });
    }
    const names = new Set<string>();
    for (const [alias, target] of this.targets) {
      if (inside.has(target) && !inside.has(alias)) names.add((target as Node).anchor ?? alias.source);
    }
    return [...names];
  }

  private isMerge(pair: Pair): boolean {
    // With merge keys on, the parser reads `<<` as a key whose value is a symbol.
    return isScalar(pair.key) && typeof pair.key.value === 'symbol';
  }
}
