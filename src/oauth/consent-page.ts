import type { ConsentOutcome } from './consent-callback';

/** The plain page a person sees after consenting: what happened, in one paragraph; nothing from the URL but escaped vendor text. */
export function renderConsentPage(outcome: ConsentOutcome): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>crm-sync: ${escapeHtml(outcome.title)}</title></head>
<body><h1 id="title">${escapeHtml(outcome.title)}</h1><p id="message">${escapeHtml(outcome.message)}</p></body></html>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
