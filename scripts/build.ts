/**
 * `npm run build`: the production build. Compiles every module of src/ to JavaScript in dist/,
 * one file per module at the same relative path, copies the migrations (.sql) beside them, and
 * writes the workflow bundle to dist/workflow-bundle.js, where the compiled worker finds it.
 * Production then runs `node dist/worker.js`, `node dist/webhooks/server.js`,
 * `node dist/cli/main.js`, `node dist/store/migrate-cli.js` with no TypeScript tooling installed.
 *
 * Why esbuild, one output per module, rather than `tsc` or a single bundle:
 * - the sources import each other without extensions ('./config', './connectors/salesforce'),
 *   which Node's ESM loader refuses; the plugin below rewrites each relative import to the
 *   compiled file it resolves to ('./config.js', './connectors/salesforce/index.js'), using
 *   esbuild's own resolver instead of a hand-written one;
 * - keeping the layout keeps every `import.meta.url`-relative path working unchanged
 *   (src/store/migrate.ts finds ./migrations, src/cli/main.ts finds ../../package.json);
 * - dependencies stay in node_modules (the Temporal core bridge is a native module).
 * Type checking stays `npm run typecheck`'s job: esbuild only strips types.
 *
 * It also refuses to write a dist/ that would fail at run time in a production install: an import
 * of a package that is not in "dependencies", or a deep import (`pkg/lib/file`) of a package
 * without an "exports" map that Node could not find without its extension.
 */
import { builtinModules } from 'node:module';
import { cp, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { buildWorkflowBundle } from '../src/build-workflow-bundle';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = path.join(root, 'src');

interface PackageJson {
  dependencies?: Record<string, string>;
  exports?: unknown;
}

export async function buildProduction(outDir = path.join(root, 'dist')): Promise<{ modules: number; packages: string[] }> {
  const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as PackageJson;
  const entryPoints = (await readdir(srcDir, { recursive: true }))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => path.join(srcDir, file));
  const packages = new Set<string>();
  const problems: string[] = [];

  await rm(outDir, { recursive: true, force: true });
  await build({
    entryPoints,
    outdir: outDir,
    outbase: srcDir,
    // "bundle" only so that the plugin sees every import; the plugin marks each one external, so
    // every output holds exactly its own module.
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
    plugins: [externalImports({ dependencies: new Set(Object.keys(pkg.dependencies ?? {})), packages, problems })],
  });
  if (problems.length > 0) throw new Error(`The production build would not run:\n${problems.map((line) => `  - ${line}`).join('\n')}`);

  // Migrations are read from disk at run time (src/store/migrate.ts: ./migrations beside it).
  await cp(path.join(srcDir, 'store', 'migrations'), path.join(outDir, 'store', 'migrations'), {
    recursive: true,
    filter: (source) => !path.extname(source) || source.endsWith('.sql'),
  });
  // Bundled from the sources of this same build, so worker code and workflow code always match.
  await buildWorkflowBundle(path.join(outDir, 'workflow-bundle.js'));
  return { modules: entryPoints.length, packages: [...packages].sort() };
}

const skip = Symbol('resolving for externalImports');

function externalImports(options: { dependencies: ReadonlySet<string>; packages: Set<string>; problems: string[] }): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: 'external-imports',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point' || args.pluginData === skip) return undefined;
        if (args.path.startsWith('node:') || builtins.has(args.path)) return { path: args.path, external: true };
        const resolved = await pluginBuild.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: skip });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        const from = path.relative(root, args.importer);

        if (args.path.startsWith('.')) {
          if (!resolved.path.startsWith(srcDir + path.sep) || !resolved.path.endsWith('.ts')) {
            options.problems.push(`${from} imports ${args.path}, which is not a TypeScript module under src/`);
            return { path: args.path, external: true };
          }
          let specifier = path.relative(path.dirname(args.importer), resolved.path).replace(/\.ts$/, '.js').split(path.sep).join('/');
          if (!specifier.startsWith('.')) specifier = `./${specifier}`;
          return { path: specifier, external: true };
        }

        const name = packageName(args.path);
        options.packages.add(name);
        if (!options.dependencies.has(name)) {
          options.problems.push(`${from} imports "${args.path}", but ${name} is not in package.json "dependencies" (a production install omits it)`);
        }
        const subpath = args.path.slice(name.length);
        if (!subpath) return { path: args.path, external: true };
        // A deep import into a package without an "exports" map is a plain file path to Node,
        // which needs the extension TypeScript and esbuild let the source leave out.
        const packageRoot = resolved.path.slice(0, resolved.path.lastIndexOf(`${path.sep}node_modules${path.sep}`) + `${path.sep}node_modules${path.sep}`.length + name.length);
        const manifest = JSON.parse(await readFile(path.join(packageRoot, 'package.json'), 'utf8')) as PackageJson;
        if (manifest.exports !== undefined) return { path: args.path, external: true };
        return { path: `${name}/${path.relative(packageRoot, resolved.path).split(path.sep).join('/')}`, external: true };
      });
    },
  };
}

/** `@scope/name/deep/file` -> `@scope/name`; `name/deep` -> `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ? path.resolve(process.argv[2]) : undefined;
  const { modules, packages } = await buildProduction(outDir);
  console.log(`Built ${modules} modules and the workflow bundle into ${path.relative(process.cwd(), outDir ?? path.join(root, 'dist')) || '.'}; runtime packages: ${packages.join(', ')}`);
}
