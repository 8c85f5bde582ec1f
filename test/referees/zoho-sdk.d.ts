/**
 * The part of Zoho's CRM v8 Node SDK (`@zohocrm/nodejs-sdk-8.0`, plain JavaScript without type
 * declarations) the referee test uses, typed from the SDK's sources (lib/routes, lib/models,
 * lib/core/com/zoho/crm/api/record).
 */
declare module '@zohocrm/nodejs-sdk-8.0' {
  export class Environment {
    constructor(url: string, accountsUrl: string, fileUploadUrl: string);
  }
  export interface OAuthToken {
    getAccessToken(): string | null;
    getRefreshToken(): string | null;
    getId(): string | null;
    setId(id: string): void;
    getAPIDomain(): string | null;
    getExpiresIn(): string | null;
    setAccessToken(token: string | null): void;
  }
  export class OAuthBuilder {
    clientId(value: string): this;
    clientSecret(value: string): this;
    refreshToken(value: string): this;
    findUser(value: boolean): this;
    build(): OAuthToken;
  }
  export namespace TokenStore {
    abstract class TokenStore {
      findToken(token: OAuthToken): Promise<OAuthToken | null>;
      findTokenById(id: string): Promise<OAuthToken | null>;
      saveToken(token: OAuthToken): Promise<void>;
      deleteToken(id: string): Promise<void>;
      getTokens(): Promise<OAuthToken[]>;
      deleteTokens(): Promise<void>;
    }
  }
  export interface Logger {
    readonly level: string;
  }
  export class LogBuilder {
    level(level: string): this;
    filePath(path: string): this;
    build(): Logger;
  }
  export const Levels: { OFF: string; INFO: string; ERROR: string };
  export interface SDKConfig {
    getTimeout(): number;
  }
  export class SDKConfigBuilder {
    pickListValidation(value: boolean): this;
    autoRefreshFields(value: boolean): this;
    build(): SDKConfig;
  }
  /** The builder's constructor is async in the SDK: `(await new InitializeBuilder())`. */
  export const InitializeBuilder: new () => Promise<InitializeBuilderInstance>;
  export interface InitializeBuilderInstance {
    environment(environment: Environment): this;
    token(token: OAuthToken): this;
    store(store: TokenStore.TokenStore): this;
    logger(logger: Logger): this;
    resourcePath(path: string): this;
    SDKConfig(config: SDKConfig): this;
    initialize(): Promise<void>;
  }
  export interface Param {
    readonly name: string;
  }
  export interface Header {
    readonly name: string;
  }
  export class ParameterMap {
    add(param: Param, value: unknown): Promise<void>;
  }
  export class HeaderMap {
    add(header: Header, value: unknown): Promise<void>;
  }
  export interface Choice<T> {
    getValue(): T;
  }
  export interface APIResponse<T> {
    getStatusCode(): number;
    getObject(): T | null;
    getHeaders(): Map<string, string>;
  }
  export namespace Record {
    class Record {
      getId(): bigint;
      setId(id: bigint): void;
      addKeyValue(name: string, value: unknown): void;
      getKeyValue(name: string): unknown;
    }
    class BodyWrapper {
      setData(data: Record[]): void;
      setDuplicateCheckFields(fields: string[]): void;
    }
    class Info {
      getPerPage(): number;
      getCount(): number;
      getPage(): number;
      getMoreRecords(): boolean;
    }
    class ResponseWrapper {
      getData(): Record[];
      getInfo(): Info;
    }
    class SuccessResponse {
      getStatus(): Choice<string>;
      getCode(): Choice<string>;
      getDetails(): Map<string, unknown>;
      getMessage(): Choice<string>;
    }
    class APIException {
      getStatus(): Choice<string>;
      getCode(): Choice<string>;
      getDetails(): Map<string, unknown>;
      getMessage(): Choice<string>;
    }
    class ActionWrapper {
      getData(): (SuccessResponse | APIException)[];
    }
    class DeletedRecord {
      getId(): bigint;
      getType(): Choice<string>;
    }
    class DeletedRecordsWrapper {
      getData(): DeletedRecord[];
    }
    type ResponseHandler = ResponseWrapper | APIException;
    type ActionHandler = ActionWrapper | APIException;
    class RecordOperations {
      constructor(moduleAPIName: string);
      getRecords(params?: ParameterMap | null, headers?: HeaderMap | null): Promise<APIResponse<ResponseHandler>>;
      getRecord(id: bigint, params?: ParameterMap | null, headers?: HeaderMap | null): Promise<APIResponse<ResponseHandler>>;
      createRecords(body: BodyWrapper, headers?: HeaderMap | null): Promise<APIResponse<ActionHandler>>;
      updateRecords(body: BodyWrapper, headers?: HeaderMap | null): Promise<APIResponse<ActionHandler>>;
      upsertRecords(body: BodyWrapper, headers?: HeaderMap | null): Promise<APIResponse<ActionHandler>>;
      deleteRecords(params?: ParameterMap | null, headers?: HeaderMap | null): Promise<APIResponse<ActionHandler>>;
      searchRecords(params?: ParameterMap | null, headers?: HeaderMap | null): Promise<APIResponse<ResponseHandler>>;
      getDeletedRecords(params?: ParameterMap | null, headers?: HeaderMap | null): Promise<APIResponse<DeletedRecordsWrapper | APIException>>;
    }
    const GetRecordsParam: { FIELDS: Param; SORT_BY: Param; SORT_ORDER: Param; PAGE: Param; PER_PAGE: Param; IDS: Param };
    const GetRecordsHeader: { IF_MODIFIED_SINCE: Header };
    const SearchRecordsParam: { CRITERIA: Param; EMAIL: Param; PAGE: Param; PER_PAGE: Param };
    const DeleteRecordsParam: { IDS: Param };
    const GetDeletedRecordsParam: { TYPE: Param };
  }
  export namespace Timelines {
    class FieldHistoryValue {
      getNew(): string | null;
      getOld(): string | null | undefined;
    }
    class FieldHistory {
      getAPIName(): string;
      getValue(): FieldHistoryValue;
    }
    class Timeline {
      getAuditedTime(): Date;
      getAction(): string;
      getSource(): string;
      getFieldHistory(): FieldHistory[] | null;
    }
    class ResponseWrapper {
      getTimeline(): Timeline[];
    }
    class TimelinesOperations {
      getTimelines(module: string, recordId: string, params?: ParameterMap | null): Promise<APIResponse<ResponseWrapper | Record.APIException>>;
    }
    const GetTimelinesParam: { SORT_BY: Param; SORT_ORDER: Param; PER_PAGE: Param; PAGE: Param };
  }
}
