import { ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { CommanderError } from 'commander';
import { ConfigError } from '../config';
import { CredentialCipherError } from '../store/credential-cipher';

/**
 * Exit codes of `crm-sync`, after sysexits(3) where one fits, so scripts can tell "try again
 * later" (69) from "fix the configuration" (78) from "you typed it wrong" (2).
 */
export const exitCodes = {
  ok: 0,
  /** The operation ran and failed (a CRM refused the credentials, a workflow failed...). */
  failed: 1,
  /** Wrong arguments or an unreadable/invalid input file. */
  usage: 2,
  /** The tenant, connection, workflow or parked record named does not exist. */
  notFound: 3,
  /** Temporal or PostgreSQL cannot be reached (EX_UNAVAILABLE). */
  unavailable: 69,
  /** The environment is wrong: a bad variable, a missing key, an unmigrated database (EX_CONFIG). */
  config: 78,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

export const exitCodeHelp = [
  'Exit codes:',
  '  0   ok',
  '  1   the operation failed (e.g. the CRM refused the credentials, the backfill failed)',
  '  2   usage error: wrong argument or option, unreadable or invalid input file',
  '  3   not found: unknown tenant, connection, workflow or parked record',
  '  69  service unavailable: Temporal or PostgreSQL cannot be reached',
  '  78  configuration error: bad environment variable, missing key, database not migrated',
].join('\n');

/** A failure the operator can act on: one line on stderr, this exit code, no stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = exitCodes.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string): CliError => new CliError(message, exitCodes.usage);
export const notFound = (message: string): CliError => new CliError(message, exitCodes.notFound);

/** PostgreSQL and socket error codes by what the operator should do about them. */
const unreachableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', '57P01', '57P03']);
const configCodes: Record<string, string> = {
  '3D000': 'the database in DATABASE_URL does not exist (run `npm run migrate` or `crm-sync dev` once)',
  '42P01': 'the database is not migrated (run `npm run migrate`)',
  '28P01': 'PostgreSQL refused the user or password in DATABASE_URL',
  '28000': 'PostgreSQL refused the user in DATABASE_URL',
};

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Node reports a refused dual-stack connect as an AggregateError of the per-address errors.
  const inner = (error as { errors?: unknown }).errors;
  return Array.isArray(inner) ? errorCode(inner[0]) : undefined;
}

/** gRPC status 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED: the Temporal frontend did not answer. */
function isTemporalUnavailable(error: unknown): boolean {
  if (!(error instanceof ServiceError)) return false;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return code === 14 || code === 4;
}

/** Turns any thrown value into the one line and exit code the operator sees. */
export function classifyError(error: unknown): CliError | undefined {
  if (error instanceof CliError) return error;
  if (error instanceof ConfigError) return new CliError(`invalid configuration: ${error.problems.join('; ')}`, exitCodes.config);
  if (error instanceof CommanderError) return new CliError(error.message.replace(/^error: /, ''), exitCodes.usage);
  if (error instanceof CredentialCipherError) return new CliError(error.message, exitCodes.config);
  if (error instanceof WorkflowNotFoundError) return notFound(`no workflow ${error.workflowId ?? ''} on this Temporal namespace`.replace('  ', ' '));
  if (isTemporalUnavailable(error)) return new CliError(`Temporal is unreachable: ${(error as Error).message}`, exitCodes.unavailable);
  const code = errorCode(error);
  if (code && unreachableCodes.has(code)) return new CliError(`PostgreSQL is unreachable (${code}): check DATABASE_URL and that the server runs`, exitCodes.unavailable);
  if (code && configCodes[code]) return new CliError(configCodes[code], exitCodes.config);
  return undefined;
}
