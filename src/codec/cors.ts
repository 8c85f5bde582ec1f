/** What the Temporal Web UI sends with codec requests (authorization when it passes a token). */
export const CODEC_ALLOWED_HEADERS = 'authorization, content-type, x-namespace';

/** The dev server's Web UI origins on a port: the UI is opened under either host name. */
export function devUiOrigins(uiPort: number): string[] {
  return [`http://localhost:${uiPort}`, `http://127.0.0.1:${uiPort}`];
}

/** Normalises a configured origin (`https://ui.example.com/` -> `https://ui.example.com`); throws on anything but an origin. */
export function normaliseOrigin(value: string): string {
  const url = new URL(value);
  if (url.origin === 'null' || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new Error(`"${value}" is not an origin (scheme://host[:port], no path)`);
  }
  return url.origin;
}
