/**
 * A dispatch table keyed by request declarations: `table.on(StatusRequest, handler)` ties the method name,
 * the params validator and the handler's types together; incoming requests are looked up by method.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { ErrorCode, ProtocolError, RequestType } from '../protocol/message';
import { formatProblems, validate } from '../protocol/validate';

export type Handler<P extends TSchema, R extends TSchema, C> = (params: Static<P>, conn: C) => Promise<Static<R>> | Static<R>;

interface Registered<C> {
  type: RequestType<string, TSchema, TSchema>;
  handler: (params: unknown, conn: C) => unknown;
}

export class HandlerTable<C> {
  private readonly table = new Map<string, Registered<C>>();

  on<M extends string, P extends TSchema, R extends TSchema>(type: RequestType<M, P, R>, handler: Handler<P, R, C>): this {
    this.table.set(type.method, { type, handler: handler as (params: unknown, conn: C) => unknown });
    return this;
  }

  /** Validates params and runs the handler; throws ProtocolError for unknown methods or bad params. */
  async dispatch(method: string, params: unknown, conn: C): Promise<unknown> {
    const entry = this.table.get(method);
    if (!entry) throw new ProtocolError(ErrorCode.MethodNotFound, `unknown method "${method.slice(0, 128)}"`);
    const value = params === undefined ? {} : params;
    const problems = validate(entry.type.params, value);
    if (problems.length) {
      throw new ProtocolError(ErrorCode.InvalidParams, `invalid params for ${method}:\n${formatProblems(problems)}`, problems);
    }
    return entry.handler(value, conn);
  }

  methods(): string[] {
    return [...this.table.keys()];
  }
}
