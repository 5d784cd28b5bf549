/**
 * An esbuild plugin for browser bundles of code that is not the packages' own: every `node:*`
 * import of a test file (the backend test files run in the page by test/conformance.ts use
 * node:child_process and friends in tests that never run there) resolves to a stub whose
 * functions throw a clear error when called.
 *
 * The packages' sources get no stubs: their browser entries import no Node built-in (file I/O
 * is behind `@tsgrad/nn/node` and `@tsgrad/eva/node`; test/browser-entries.test.ts checks it),
 * so a `node:` import reached from packages/<pkg>/src is a build error here, naming the file.
 * Which modules pull which built-ins is printed by `pnpm playground build --report-node`.
 */
import { builtinModules } from 'node:module';
import type { Plugin } from 'esbuild';

/** The builtins each stubbed `node:` module was imported from (filled during a build). */
export const stubbedImports = new Map<string, Set<string>>();

export function nodeBuiltinStubs(): Plugin {
  return {
    name: 'node-builtin-stubs',
    setup(build) {
      build.onStart(() => stubbedImports.clear());
      build.onResolve({ filter: /^node:/ }, (args) => {
        const name = args.path.slice('node:'.length);
        if (!builtinModules.includes(name)) return undefined;
        if (/[\\/]packages[\\/][^\\/]+[\\/]src[\\/]/.test(args.importer)) {
          return { errors: [{ text: `${args.path} imported by ${args.importer}: a package's browser entry must not reach Node built-ins (move the code behind the package's /node entry)` }] };
        }
        const importers = stubbedImports.get(args.path) ?? new Set<string>();
        importers.add(args.importer);
        stubbedImports.set(args.path, importers);
        return { path: args.path, namespace: 'node-stub' };
      });
      build.onLoad({ filter: /.*/, namespace: 'node-stub' }, async (args) => {
        const real = (await import(args.path)) as Record<string, unknown>;
        const names = Object.keys(real).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
        const fail = `(what) => { throw new Error(\`\${what} from ${args.path} is not available in the browser (tsgrad playground)\`); }`;
        const lines = [`const fail = ${fail};`];
        for (const n of names) {
          // createRequire runs at module load in nn's corpus.ts; only using the require it returns fails
          lines.push(
            n === 'createRequire'
              ? `export const createRequire = () => Object.assign(() => fail('require'), { resolve: () => fail('require.resolve') });`
              : `export const ${n} = (..._args) => fail('${n}');`,
          );
        }
        lines.push(`export default {};`);
        return { contents: lines.join('\n'), loader: 'js' };
      });
    },
  };
}
