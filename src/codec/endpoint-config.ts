import type { PayloadCodec } from '@temporalio/common';
import type { Config } from '../config';
import { devUiOrigins } from './cors';
import type { CodecEndpointOptions } from './endpoint';

/**
 * The codec endpoint's options from the environment, or undefined when it must not be served:
 * no CODEC_OPERATOR_TOKEN and no explicit development opt-out (CODEC_ALLOW_NO_TOKEN=true, which
 * config.ts refuses in production).
 */
export function codecEndpointOptions(config: Config, codec: PayloadCodec): CodecEndpointOptions | undefined {
  if (!config.CODEC_OPERATOR_TOKEN && !config.CODEC_ALLOW_NO_TOKEN) return undefined;
  return {
    codec,
    operatorToken: config.CODEC_OPERATOR_TOKEN,
    allowWithoutToken: !config.CODEC_OPERATOR_TOKEN && config.CODEC_ALLOW_NO_TOKEN,
    corsOrigins: config.CODEC_CORS_ORIGINS ?? devUiOrigins(config.TEMPORAL_UI_PORT),
    namespace: config.TEMPORAL_NAMESPACE,
  };
}

export const CODEC_ENDPOINT_DISABLED =
  'Codec endpoint off: set CODEC_OPERATOR_TOKEN (or, on a development machine only, CODEC_ALLOW_NO_TOKEN=true) to serve /codec.';

/**
 * Where the dev server's Web UI should send payloads to decode (`--ui-codec-endpoint`): the shim's
 * `/codec`, when it is served without a token. The dev UI has no login, so it cannot present an
 * operator token; with CODEC_OPERATOR_TOKEN set, operators decode with the `temporal` CLI
 * (`--codec-endpoint … --codec-auth "Bearer <token>"`) or a Web UI that passes a token.
 */
export function devUiCodecEndpoint(config: Config): string | undefined {
  if (config.CODEC_OPERATOR_TOKEN || !config.CODEC_ALLOW_NO_TOKEN) return undefined;
  return `http://127.0.0.1:${config.SHIM_PORT}/codec`;
}
