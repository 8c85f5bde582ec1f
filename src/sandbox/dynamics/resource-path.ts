import { entitySet, type EntitySetDefinition } from './entity-sets';
import { badQuery, DataverseError, ErrorCodes } from './errors';

export type EntityKey = { kind: 'id'; id: string } | { kind: 'alternate'; column: string; value: string | number };

export type ResourcePath =
  | { kind: 'collection'; definition: EntitySetDefinition }
  | { kind: 'entity'; definition: EntitySetDefinition; key: EntityKey }
  | { kind: 'count'; definition: EntitySetDefinition }
  /** `emails(<guid>)/email_activity_parties`: a collection-valued navigation property of one row. */
  | { kind: 'navigation'; definition: EntitySetDefinition; key: EntityKey; navigation: string }
  | { kind: 'whoami' }
  /** `audits(<guid>)/Microsoft.Dynamics.CRM.RetrieveAuditDetails`: a function bound to an audit row [D84]. */
  | { kind: 'auditDetails'; id: string }
  /** `RetrieveRecordChangeHistory(Target=@target)`: the unbound function; the record comes in the `@target` alias [D85]. */
  | { kind: 'recordChangeHistory'; alias: string };

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isGuid(text: string): boolean {
  return GUID.test(text);
}

function notFound(segment: string): DataverseError {
  return new DataverseError(404, ErrorCodes.resourceNotFound, `Resource not found for the segment '${segment}'.`);
}

/** Splits `a='x,y',b=2` on the commas outside quotes. */
function splitKeyParts(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === "'") quoted = !quoted;
    if (char === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

function parseKeyValue(raw: string, whole: string): string | number {
  const text = raw.trim();
  if (/^'.*'$/s.test(text)) return text.slice(1, -1).replace(/''/g, "'");
  if (isGuid(text)) return text.toLowerCase();
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  throw badQuery(`Bad Request - Error in query syntax. Key '${whole}' could not be parsed.`);
}

function parseKey(definition: EntitySetDefinition, text: string): EntityKey {
  const decoded = decodeURIComponent(text);
  if (isGuid(decoded.trim())) return { kind: 'id', id: decoded.trim().toLowerCase() };
  const parts = splitKeyParts(decoded);
  if (parts.length !== 1) throw badQuery(`The key '${decoded}' does not match an alternate key defined for entity '${definition.logicalName}'.`);
  const [name = '', ...rest] = (parts[0] as string).split('=');
  const column = name.trim();
  const value = parseKeyValue(rest.join('='), decoded);
  if (column === definition.primaryId && typeof value === 'string' && isGuid(value)) return { kind: 'id', id: value };
  if (!definition.alternateKeys.some((key) => key.length === 1 && key[0] === column)) {
    throw badQuery(`The key '${decoded}' does not match an alternate key defined for entity '${definition.logicalName}'.`);
  }
  return { kind: 'alternate', column, value };
}

/** Resolves `contacts`, `contacts(<guid>)`, `contacts(emailaddress1='a@b.com')` or `WhoAmI`. */
export function parseResourcePath(path: string): ResourcePath {
  const clean = path.replace(/^\/+|\/+$/g, '');
  if (clean === 'WhoAmI' || clean === 'WhoAmI()') return { kind: 'whoami' };
  const auditDetails = /^audits\(([^)]*)\)\/Microsoft\.Dynamics\.CRM\.RetrieveAuditDetails(?:\(\))?$/.exec(clean);
  if (auditDetails) {
    const id = decodeURIComponent(auditDetails[1] as string).trim();
    if (!isGuid(id)) throw badQuery(`Bad Request - Error in query syntax. Key '${id}' could not be parsed.`);
    return { kind: 'auditDetails', id: id.toLowerCase() };
  }
  const history = /^RetrieveRecordChangeHistory\(Target=(@[A-Za-z0-9_]+)(?:,PagingInfo=@[A-Za-z0-9_]+)?\)$/.exec(decodeURIComponent(clean));
  if (history) return { kind: 'recordChangeHistory', alias: history[1] as string };
  // `contacts/$count`: the collection's row count as plain text [D17].
  const counted = /^([A-Za-z_][A-Za-z0-9_]*)\/\$count$/.exec(clean);
  if (counted) {
    const definition = entitySet(counted[1] as string);
    if (!definition) throw notFound(counted[1] as string);
    return { kind: 'count', definition };
  }
  const navigated = /^([A-Za-z_][A-Za-z0-9_]*)\(([^)]*)\)\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(clean);
  if (navigated) {
    const definition = entitySet(navigated[1] as string);
    if (!definition) throw notFound(navigated[1] as string);
    if (definition.activityParties?.navigation !== navigated[3]) throw notFound(navigated[3] as string);
    return { kind: 'navigation', definition, key: parseKey(definition, navigated[2] as string), navigation: navigated[3] as string };
  }
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?$/s.exec(clean);
  if (!match) throw notFound(clean.split('/').pop() ?? clean);
  const definition = entitySet(match[1] as string);
  if (!definition) throw notFound(match[1] as string);
  if (match[2] === undefined) return { kind: 'collection', definition };
  return { kind: 'entity', definition, key: parseKey(definition, match[2]) };
}
