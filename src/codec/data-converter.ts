import type { DataConverter, PayloadCodec } from '@temporalio/common';
import type { Config } from '../config';
import { loadEncryptionKeyring } from '../store/keyring';
import { EncryptionCodec } from './encryption-codec';

/**
 * The payload codec every worker and client of this deployment shares, over the credential
 * keyring (CRM_SYNC_ENCRYPTION_KEYS / CRM_SYNC_ACTIVE_KEY_ID, or the generated development key).
 */
export async function loadPayloadCodec(config: Config, log?: (line: string) => void): Promise<EncryptionCodec> {
  return EncryptionCodec.fromKeyring(await loadEncryptionKeyring(config, log));
}

/**
 * The data converter for Workers and Clients: the default payload converter, then the codec.
 * Codecs run outside the workflow sandbox, so a Worker built from `workflowsPath` or a
 * prebuilt `workflowBundle` takes this as is.
 */
export function codecDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec] };
}
