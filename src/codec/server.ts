/**
 * `npm run codec-server`: the codec endpoint alone on CODEC_PORT (`/codec/encode`, `/codec/decode`),
 * for deployments that keep it off the internet-facing webhook shim. Refuses to start without
 * CODEC_OPERATOR_TOKEN unless CODEC_ALLOW_NO_TOKEN=true (development only).
 */
import { loadConfigOrExit } from '../config';
import { redactedLogger } from '../webhooks/app';
import { loadPayloadCodec } from './data-converter';
import { buildCodecApp } from './endpoint';
import { CODEC_ENDPOINT_DISABLED, codecEndpointOptions } from './endpoint-config';

const config = loadConfigOrExit();
const options = codecEndpointOptions(config, await loadPayloadCodec(config));
if (!options) {
  process.stderr.write(`${CODEC_ENDPOINT_DISABLED}\n`);
  process.exit(78);
}

const app = buildCodecApp(options, redactedLogger({ level: process.env.LOG_LEVEL ?? 'info' }));
await app.listen({ host: '0.0.0.0', port: config.CODEC_PORT });
console.log(`Codec endpoint on :${config.CODEC_PORT}/codec (allowed origins: ${options.corsOrigins.join(', ')}).`);

const shutdown = async (): Promise<void> => {
  await app.close();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
