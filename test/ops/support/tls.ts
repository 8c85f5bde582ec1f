import net from 'node:net';
import tls from 'node:tls';
import { generate } from 'selfsigned';

export interface Pem {
  cert: string;
  key: string;
}

export interface TestPki {
  ca: Pem;
  /** For `localhost` and 127.0.0.1, signed by `ca`, for server authentication. */
  server: Pem;
  /** Signed by `ca`, for client authentication (mTLS). */
  client: Pem;
}

const days = (n: number): Date => new Date(Date.now() + n * 86_400_000);

/**
 * A certificate authority with a server and a client certificate, made at test time (node:crypto
 * cannot write X.509, `selfsigned` can: it is already a dependency for the Dynamics sandbox's HTTPS).
 * Proper v3 extensions, because the worker's TLS stack (rustls in the SDK core) rejects a CA
 * without basicConstraints/keyCertSign and a server certificate without a subjectAltName.
 */
export async function makeTestPki(name: string): Promise<TestPki> {
  const notBeforeDate = days(-1);
  const notAfterDate = days(30);
  const ca = await generate([{ name: 'commonName', value: `${name} test CA` }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const issued = async (commonName: string, usage: 'server' | 'client'): Promise<Pem> => {
    const pem = await generate([{ name: 'commonName', value: commonName }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate,
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: usage === 'server', clientAuth: usage === 'client' },
        ...(usage === 'server'
          ? [{ name: 'subjectAltName' as const, altNames: [{ type: 2 as const, value: 'localhost' }, { type: 7 as const, ip: '127.0.0.1' }] }]
          : []),
      ],
    });
    return { cert: pem.cert, key: pem.private };
  };
  return { ca: { cert: ca.cert, key: ca.private }, server: await issued('localhost', 'server'), client: await issued(`${name} worker`, 'client') };
}

export interface TlsProxy {
  /** host:port clients connect to with TLS. */
  address: string;
  /** TLS sessions that completed the handshake (with a client certificate the CA signed, when one is required). */
  readonly authorizedSessions: number;
  /** Handshakes that failed (e.g. a client that did not trust the server's CA hung up). */
  readonly failedHandshakes: number;
  stop(): Promise<void>;
}

/**
 * A TLS-terminating proxy in front of a plaintext gRPC frontend, as a load balancer or ingress
 * in front of a self-hosted cluster would be: TLS 1.2+ with ALPN h2 (gRPC needs HTTP/2), and
 * optionally mTLS (only clients with a certificate from `clientCa` get through).
 */
export async function startTlsProxy(options: { target: string; server: Pem; clientCa?: string }): Promise<TlsProxy> {
  const [targetHost, targetPort] = splitHostPort(options.target);
  let authorizedSessions = 0;
  let failedHandshakes = 0;
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      cert: options.server.cert,
      key: options.server.key,
      ALPNProtocols: ['h2'],
      ...(options.clientCa ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    },
    (secure) => {
      authorizedSessions += 1;
      const upstream = net.connect(targetPort, targetHost);
      for (const socket of [secure, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        // Either side going away ends the pair; errors are the peer hanging up.
        socket.on('error', () => undefined);
      }
      secure.pipe(upstream).pipe(secure);
      secure.on('close', () => upstream.destroy());
      upstream.on('close', () => secure.destroy());
    },
  );
  server.on('tlsClientError', () => (failedHandshakes += 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    get authorizedSessions() {
      return authorizedSessions;
    },
    get failedHandshakes() {
      return failedHandshakes;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function splitHostPort(address: string): [string, number] {
  const separator = address.lastIndexOf(':');
  return [address.slice(0, separator), Number(address.slice(separator + 1))];
}
