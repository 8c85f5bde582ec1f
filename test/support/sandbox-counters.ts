/** What every CRM sandbox counts: API writes per object (a user's own edit in the UI is not one). */
export interface CountingSandbox {
  counters: { snapshot(): { recordWrites: Record<string, number> } };
}

/** How many API writes a sandbox has taken for one object type (its own name: `Contact`, `contacts`, `persons`…). */
export function recordWrites(sandbox: CountingSandbox, type: string): number {
  return sandbox.counters.snapshot().recordWrites[type] ?? 0;
}
