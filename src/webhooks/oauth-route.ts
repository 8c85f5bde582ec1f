import type { FastifyInstance } from 'fastify';
import { handleConsentCallback, type ConsentCallbackDependencies } from '../oauth/consent-callback';
import { renderConsentPage } from '../oauth/consent-page';

export type OAuthRouteOptions = ConsentCallbackDependencies;

/**
 * `GET /oauth/:provider/callback`: where a vendor returns the person who consented (the redirect
 * URI registered with each OAuth app). Answers a plain HTML page saying what happened; the query
 * string (code, state) never reaches the logs (app.ts redacts it) nor the page.
 */
export async function oauthRoutes(app: FastifyInstance, options: OAuthRouteOptions): Promise<void> {
  app.get<{ Params: { provider: string } }>('/oauth/:provider/callback', async (request, reply) => {
    const query = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1 || request.url.length));
    let outcome;
    try {
      outcome = await handleConsentCallback(request.params.provider, query, { ...options, log: (event) => request.log.info(event, 'oauth callback') });
    } catch (error) {
      request.log.error({ err: { name: (error as Error).name } }, 'oauth callback failed');
      outcome = { status: 500, title: 'Not connected', message: 'crm-sync could not finish the connection (an internal error, logged). Run `crm-sync connection connect` again.' };
    }
    return reply
      .code(outcome.status)
      .header('content-type', 'text/html; charset=utf-8')
      // The URL held a code: no caching, and no Referer carrying it anywhere.
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .send(renderConsentPage(outcome));
  });
}
