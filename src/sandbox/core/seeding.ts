/**
 * A sandbox's `admin.seed(counts)`: creates `counts[kind]` more records of each kind, numbering the
 * fake data on from where the previous seed of that kind stopped (so seeds never repeat a record),
 * with outgoing webhooks muted: seeded data predates any subscription. Answers the new ids per kind.
 */
export function createSeeder<K extends string, Id>(
  kinds: readonly K[],
  webhooks: { muted: boolean },
  create: (kind: K, indexes: number[]) => Id[],
): (counts: Partial<Record<K, number>>) => Record<K, Id[]> {
  const seeded = new Map<K, number>();
  return (counts) => {
    const ids = Object.fromEntries(kinds.map((kind) => [kind, [] as Id[]])) as Record<K, Id[]>;
    webhooks.muted = true;
    try {
      for (const kind of kinds) {
        const start = seeded.get(kind) ?? 0;
        const count = counts[kind] ?? 0;
        ids[kind].push(...create(kind, Array.from({ length: count }, (_, offset) => start + offset)));
        seeded.set(kind, start + count);
      }
    } finally {
      webhooks.muted = false;
    }
    return ids;
  };
}
