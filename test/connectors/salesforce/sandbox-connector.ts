import { createSalesforceConnector, type SalesforceConnector, type SalesforceConnectorOptions } from '../../../src/connectors/salesforce/index';
import { startSalesforceSandbox, type SalesforceSandbox, type SalesforceSandboxOptions } from '../../../src/sandbox/salesforce/index';

/** A sandbox on port 0 and a connector pointed at it, torn down by `stopAll`. */
export interface Harness {
  sandbox: SalesforceSandbox;
  connector: SalesforceConnector;
  connect: (overrides?: Partial<SalesforceConnectorOptions>) => Promise<SalesforceConnector>;
}

const running: SalesforceSandbox[] = [];
let counter = 0;

export async function startHarness(sandboxOptions: SalesforceSandboxOptions = {}, overrides: Partial<SalesforceConnectorOptions> = {}): Promise<Harness> {
  const sandbox = await startSalesforceSandbox({ bulk: { processingDelayMs: 5 }, ...sandboxOptions });
  running.push(sandbox);
  const { instanceUrl, accessToken, refreshToken, clientId, clientSecret } = sandbox.credentials;
  const connect = (more: Partial<SalesforceConnectorOptions> = {}): Promise<SalesforceConnector> =>
    createSalesforceConnector({
      connectionId: `sf-test-${process.pid}-${(counter += 1)}`,
      instanceUrl,
      loginUrl: sandbox.url,
      accessToken,
      credentials: { grant: 'refresh_token', clientId, clientSecret, refreshToken },
      requestTimeoutMs: 5_000,
      bulk: { pollIntervalMs: 20 },
      ...overrides,
      ...more,
    });
  return { sandbox, connector: await connect(), connect };
}

export async function stopAll(): Promise<void> {
  await Promise.all(running.splice(0).map((sandbox) => sandbox.stop()));
}
