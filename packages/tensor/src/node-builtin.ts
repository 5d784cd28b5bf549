/**
 * Node's built-in modules, looked up at run time (`process.getBuiltinModule`, Node 20.16 and
 * later) instead of imported: code that uses one only on a Node path (the matmul pool's
 * worker_threads, loading gpu.js by name) then bundles for a browser with no `node:` import,
 * and there simply finds nothing.
 */

/**
 * The built-in module `name` (e.g. `'node:os'`) in Node, else undefined.
 * @example nodeBuiltin<typeof import('node:os')>('node:os')?.availableParallelism();
 */
export function nodeBuiltin<T>(name: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  try {
    return proc?.getBuiltinModule?.(name) as T | undefined;
  } catch {
    return undefined;
  }
}
