/** The `Prefer` header preferences the Web API honours. */
export interface Preferences {
  maxPageSize?: number;
  returnRepresentation: boolean;
  trackChanges: boolean;
  continueOnError: boolean;
}

export function parsePrefer(header: string | string[] | undefined): Preferences {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  const preferences: Preferences = { returnRepresentation: false, trackChanges: false, continueOnError: false };
  for (const part of text.split(',')) {
    const [name = '', value] = part.trim().split('=').map((piece) => piece.trim());
    if (name === 'odata.maxpagesize' && value !== undefined && /^\d+$/.test(value)) preferences.maxPageSize = Number(value);
    else if (name === 'return' && value === 'representation') preferences.returnRepresentation = true;
    else if (name === 'odata.track-changes') preferences.trackChanges = true;
    else if (name === 'odata.continue-on-error') preferences.continueOnError = true;
  }
  return preferences;
}
