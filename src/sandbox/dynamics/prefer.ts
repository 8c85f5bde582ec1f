/** The `Prefer` header preferences the Web API honours. */
export interface Preferences {
  maxPageSize?: number;
  returnRepresentation: boolean;
  trackChanges: boolean;
  continueOnError: boolean;
  /** `odata.include-annotations="a,b"` (or `"*"`): the annotation names asked for [D32]. */
  includeAnnotations: string[];
}

/** Splits on the commas outside double quotes: an annotation list is itself comma-separated. */
function splitPreferences(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

/** Whether the caller asked for `@Microsoft.Dynamics.CRM.lookuplogicalname` annotations. */
export function wantsLookupNames(preferences: Preferences): boolean {
  return preferences.includeAnnotations.some((name) => name === '*' || name === 'Microsoft.Dynamics.CRM.lookuplogicalname' || name === 'Microsoft.Dynamics.CRM.*');
}

export function parsePrefer(header: string | string[] | undefined): Preferences {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  const preferences: Preferences = { returnRepresentation: false, trackChanges: false, continueOnError: false, includeAnnotations: [] };
  for (const part of splitPreferences(text)) {
    const [name = '', value] = part.trim().split('=').map((piece) => piece.trim());
    if (name === 'odata.include-annotations' && value !== undefined) {
      preferences.includeAnnotations = value.replace(/^"|"$/g, '').split(',').map((annotation) => annotation.trim()).filter((annotation) => annotation !== '');
      continue;
    }
    if (name === 'odata.maxpagesize' && value !== undefined && /^\d+$/.test(value)) preferences.maxPageSize = Number(value);
    else if (name === 'return' && value === 'representation') preferences.returnRepresentation = true;
    else if (name === 'odata.track-changes') preferences.trackChanges = true;
    else if (name === 'odata.continue-on-error') preferences.continueOnError = true;
  }
  return preferences;
}
