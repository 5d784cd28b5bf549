/**
 * `pnpm playground`          builds the data, serves playground/dist/ with rebuilds on save on http://localhost:8080
 *                            (cross-origin isolated, see serve.ts, so the matmul pool runs on Web Workers)
 * `pnpm playground build`    writes the static site into playground/dist/ (open it with any static server)
 *   --port N                 another port for serve
 *   --report-node            print which Node built-ins the bundle had to stub, and from where
 */
import type { AddressInfo } from 'node:net';
import * as esbuild from 'esbuild';
import { buildPlayground, bundleOptions, distDir, stubReport, writeStatic } from './build.ts';
import { serveStatic } from './serve.ts';

const args = process.argv.slice(2);
const portArg = args.indexOf('--port');
const port = portArg >= 0 ? Number(args[portArg + 1]) : 8080;
if (portArg >= 0 && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new Error(`playground: --port needs a port number, got '${args[portArg + 1]}'`);
// the command is the first word that is neither a flag nor the port's value
const command = args.find((a, i) => !a.startsWith('--') && !(portArg >= 0 && i === portArg + 1)) ?? 'serve';

if (command === 'build') {
  const bytes = await buildPlayground();
  console.log(`playground built into ${distDir} (main.js ${(bytes / 1024).toFixed(0)} KiB)`);
  if (args.includes('--report-node')) for (const line of stubReport()) console.log(`  stubbed ${line}`);
} else if (command === 'serve') {
  writeStatic();
  const ctx = await esbuild.context({ ...bundleOptions(), minify: false });
  await ctx.watch();
  // our own server rather than esbuild's: the page must be cross-origin isolated (serve.ts)
  // for the fast backend's worker pool
  const server = await serveStatic(distDir, port, 'localhost');
  console.log(`tsgrad playground: http://localhost:${(server.address() as AddressInfo).port}/  (rebuilds on save; cross-origin isolated; Ctrl+C stops)`);
} else {
  console.error(`playground: unknown command '${command}' (use serve or build)`);
  process.exit(1);
}
