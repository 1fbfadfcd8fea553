/**
 * Building blocks shared by every channel's protocol module: typed request/notification declarations whose
 * payload schemas (TypeBox → JSON schema) give both the TypeScript types and the runtime validators.
 *
 * A declaration is a value (`defineRequest('daemon/status', Params, Result)`), never a bare string, so
 * senders and receivers share one name and one payload type, and dispatch is a lookup, not a switch.
 */
import { Static, TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isPlainObject } from './json';

export interface RequestType<M extends string, P extends TSchema, R extends TSchema> {
  readonly kind: 'request';
  readonly method: M;
  readonly params: P;
  readonly result: R;
  /** Guard: `v` matches the params schema (TypeBox `Value.Check`, no `eval`, so it also runs in webviews). */
  isParams(v: unknown): v is Static<P>;
  /** Guard for a result received from a peer that is not trusted to get it right (a remote daemon). */
  isResult(v: unknown): v is Static<R>;
}

export interface NotificationType<M extends string, P extends TSchema> {
  readonly kind: 'notification';
  readonly method: M;
  readonly params: P;
  /** Guard: `v` matches the params schema. */
  isParams(v: unknown): v is Static<P>;
}

export function defineRequest<M extends string, P extends TSchema, R extends TSchema>(method: M, params: P, result: R): RequestType<M, P, R> {
  return {
    kind: 'request', method, params, result,
    isParams: (v: unknown): v is Static<P> => Value.Check(params, v),
    isResult: (v: unknown): v is Static<R> => Value.Check(result, v),
  };
}

export function defineNotification<M extends string, P extends TSchema>(method: M, params: P): NotificationType<M, P> {
  return { kind: 'notification', method, params, isParams: (v: unknown): v is Static<P> => Value.Check(params, v) };
}

export type ParamsOf<T> = T extends RequestType<string, infer P, TSchema> ? Static<P> : T extends NotificationType<string, infer P> ? Static<P> : never;
export type ResultOf<T> = T extends RequestType<string, TSchema, infer R> ? Static<R> : never;

/** Structured error carried by a response. Codes below 0 follow JSON-RPC; positive ones are ours. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  Unauthorized: 1001,
  NotFound: 1002,
  JobFailed: 1003,
  TooLarge: 1004,
  PathNotAllowed: 1005,
  Conflict: 1006,
  ShuttingDown: 1007,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ErrorSchema = Type.Object({
  code: Type.Integer(),
  message: Type.String(),
  data: Type.Optional(Type.Unknown()),
});
export type WireError = Static<typeof ErrorSchema>;

/** Thrown by handlers to answer with a specific code; anything else becomes InternalError. */
export class ProtocolError extends Error {
  constructor(readonly code: ErrorCodeValue, message: string, readonly data?: unknown) {
    super(message);
  }
}

// Envelopes on the wire. `id` is chosen by the requester and echoed by the response.
export const RequestEnvelope = Type.Object({
  type: Type.Literal('request'),
  id: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  method: Type.String({ maxLength: 128 }),
  params: Type.Optional(Type.Unknown()),
}, { additionalProperties: false });
export const ResponseEnvelope = Type.Object({
  type: Type.Literal('response'),
  id: Type.Integer(),
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(ErrorSchema),
}, { additionalProperties: false });
export const NotificationEnvelope = Type.Object({
  type: Type.Literal('notification'),
  method: Type.String({ maxLength: 128 }),
  params: Type.Optional(Type.Unknown()),
}, { additionalProperties: false });

export type WireRequest = Static<typeof RequestEnvelope>;
export type WireResponse = Static<typeof ResponseEnvelope>;
export type WireNotification = Static<typeof NotificationEnvelope>;
export function isWireResponse(v: unknown): v is WireResponse {
  return isPlainObject(v) && v.type === 'response' && Number.isInteger(v.id);
}
export function isWireNotification(v: unknown): v is WireNotification {
  return isPlainObject(v) && v.type === 'notification' && typeof v.method === 'string';
}
