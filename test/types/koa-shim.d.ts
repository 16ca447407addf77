// koa 3 ships no types, and @types/koa / @types/node are not dependencies of this package: here is
// the little of them that the type tests use. (An ambient module declaration wins over anything found
// in node_modules, so this keeps working if @types/koa is installed later.)

declare module 'koa' {
  namespace Koa {
    interface Context {
      method: string;
      path: string;
      status: number;
      body: unknown;
      session: Record<string, any> | null;
      throw(status: number, message?: string): never;
    }
    type Next = () => Promise<unknown>;
    type Middleware = (ctx: Context, next: Next) => unknown;
  }
  class Koa {
    keys: string[];
    use(middleware: Koa.Middleware): this;
    listen(port?: number, host?: string): unknown;
  }
  export = Koa;
}

// koa-session's declarations import node:util for [inspect.custom].
declare module 'node:util' {
  export const inspect: { readonly custom: unique symbol };
}

// tsconfig "types": [] keeps @types/node out even if it gets installed, so these cannot clash.
declare const process: { env: Record<string, string | undefined> };
declare const console: { log(...args: unknown[]): void; error(...args: unknown[]): void };
