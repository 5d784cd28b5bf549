/**
 * `pnpm playground`          builds the data, serves playground/ with live rebuilds on http://localhost:8080
 * `pnpm playground build`    writes the static site into playground/dist/ (open it with any static server)
 *   --port N                 another port for serve
 *   --report-node            print which Node built-ins the bundle had to stub, and from where
 */
import * as esbuild from 'esbuild';
import { buildPlayground, bundleOptions, distDir, stubReport, writeStatic } from './build.ts';

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
  const { port: actual } = await ctx.serve({ servedir: distDir, port });
  console.log(`tsgrad playground: http://localhost:${actual}/  (rebuilds on save; Ctrl+C stops)`);
} else {
  console.error(`playground: unknown command '${command}' (use serve or build)`);
  process.exit(1);
}
