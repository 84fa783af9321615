// Runs dual-run firmware tests under the real MicroPython interpreter (the official WebAssembly
// build, pinned in package.json).
//
//   node tests/micropython/run.mjs [--root DIR] [--heap] [--mpy BUILD] TESTFILE.py [TESTFILE.py ...]
//
// --mpy BUILD: the firmware as it goes onto the board -- BUILD is the tree `make firmware` writes
// (python -m icpurse.host.firmware_build BUILD): its lib/icpurse/**.mpy replace the .py sources of
// firmware/ and of the deployed protocol/ modules; the runner checks the reader was imported from them.
//
// Each test file gets a fresh interpreter whose filesystem holds:
//   /lib/icpurse/__init__.py        empty (the CPython root __init__ is not firmware)
//   /lib/icpurse/firmware/...       every .py under <root>/firmware/
//   /lib/icpurse/protocol/..., /lib/icpurse/host/... (the generated host codec) and
//   /lib/icpurse/hil/...            only the .py files under these folders marked MicroPython-
//                                   compatible: a line `# micropython: yes` among the first 5
//                                   (package __init__.py files are created empty when unmarked)
//   /tests_fw/...                   the support files in <root>/tests/firmware/ (mpytest.py, ...),
//                                   and the test file when it lives elsewhere
// The interpreter's working directory is /tests_fw: MicroPython's import path starts with "" (the
// working directory), so the test and its helpers import as top-level modules, as under pytest.
// Every top-level callable named test_* is called without arguments, in definition order.
// Output: `PASS module::name` / `FAIL module::name` + traceback, then exactly one closing line
// `N passed, M failed` (CI parses it).  Exit 1 if anything failed or no test ran; 2 on usage error.
// --heap adds, per test, the bytes it allocated (GC paused during the test).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MARKER = /^#\s*micropython:\s*yes\b/;
const MARKER_LINES = 5;
const MARKED_PARTS = ["protocol", "host", "hil"];

function usage(msg) {
  if (msg) process.stderr.write(`run.mjs: ${msg}\n`);
  process.stderr.write("usage: node run.mjs [--root DIR] [--heap] TESTFILE.py [TESTFILE.py ...]\n");
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { root: path.resolve(HERE, "..", ".."), heap: false, mpy: null, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--root") {
      if (i + 1 >= argv.length) usage("--root needs a directory");
      opts.root = path.resolve(argv[++i]);
    } else if (a === "--mpy") {
      if (i + 1 >= argv.length) usage("--mpy needs a build directory");
      opts.mpy = path.resolve(argv[++i]);
      if (!fs.existsSync(path.join(opts.mpy, "lib", "icpurse"))) usage(`no lib/icpurse in ${opts.mpy}: run make firmware`);
    } else if (a === "--heap") opts.heap = true;
    else if (a === "-h" || a === "--help") usage();
    else if (a.startsWith("-")) usage(`unknown option ${a}`);
    else opts.files.push(path.resolve(a));
  }
  if (opts.files.length === 0) usage("no test file given");
  for (const f of opts.files) {
    if (!f.endsWith(".py") || !fs.existsSync(f)) usage(`not a .py file: ${f}`);
  }
  return opts;
}

// Every .py file under dir (relative paths, sorted), skipping caches and hidden folders.
function pyFiles(dir, rel = "") {
  const here = path.join(dir, rel);
  if (!fs.existsSync(here)) return [];
  const out = [];
  for (const ent of fs.readdirSync(here, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (ent.name.startsWith(".") || ent.name === "__pycache__" || ent.name === "node_modules") continue;
    const r = rel ? `${rel}/${ent.name}` : ent.name;
    if (ent.isDirectory()) out.push(...pyFiles(dir, r));
    else if (ent.isFile() && ent.name.endsWith(".py")) out.push(r);
  }
  return out;
}

function isMarked(file) {
  const head = fs.readFileSync(file, "utf8").split("\n").slice(0, MARKER_LINES);
  return head.some((line) => MARKER.test(line.trim()));
}

function mkdirs(FS, dir) {
  let cur = "";
  for (const part of dir.split("/").filter(Boolean)) {
    cur += "/" + part;
    try {
      FS.mkdir(cur);
    } catch (e) {
      // EEXIST: already there
    }
  }
}

function put(FS, dest, text) {
  mkdirs(FS, path.posix.dirname(dest));
  FS.writeFile(dest, text);
}

function exists(FS, p) {
  try {
    FS.stat(p);
    return true;
  } catch (e) {
    return false;
  }
}

// Every file under dir (relative paths, sorted).
function allFiles(dir, rel = "") {
  const out = [];
  for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel ? `${rel}/${ent.name}` : ent.name;
    if (ent.isDirectory()) out.push(...allFiles(dir, r));
    else out.push(r);
  }
  return out;
}

function install(FS, root, extraTests, mpy) {
  // With --mpy the compiled tree comes first: a module found as .mpy is not installed as .py again
  // (MicroPython would prefer the source).
  const compiled = new Set();
  if (mpy) {
    const lib = path.join(mpy, "lib", "icpurse");
    for (const rel of allFiles(lib)) {
      put(FS, `/lib/icpurse/${rel}`, fs.readFileSync(path.join(lib, rel)));
      compiled.add(rel.replace(/\.mpy$/, ".py"));
    }
  } else {
    put(FS, "/lib/icpurse/__init__.py", "");
  }
  for (const rel of pyFiles(path.join(root, "firmware"))) {
    if (compiled.has(`firmware/${rel}`)) continue;
    put(FS, `/lib/icpurse/firmware/${rel}`, fs.readFileSync(path.join(root, "firmware", rel)));
  }
  // Pure-logic modules outside firmware/ that are marked MicroPython-compatible: the protocol's
  // data modules (geometry, access model, layout) and the simulator core.
  for (const part of MARKED_PARTS) {
    const dir = path.join(root, ...part.split("/"));
    const marked = pyFiles(dir).filter((rel) => isMarked(path.join(dir, rel)) && !compiled.has(`${part}/${rel}`));
    for (const rel of marked) put(FS, `/lib/icpurse/${part}/${rel}`, fs.readFileSync(path.join(dir, rel)));
    // Every folder on the way to a marked file must be a package; an unmarked (CPython-only)
    // __init__.py is replaced by an empty one.
    const top = `/lib/icpurse/${part.split("/")[0]}`;
    const dirs = new Set();
    for (const rel of marked) {
      let d = path.posix.dirname(`/lib/icpurse/${part}/${rel}`);
      while (d.startsWith(top)) {
        dirs.add(d);
        d = path.posix.dirname(d);
      }
    }
    for (const d of dirs) {
      if (!exists(FS, `${d}/__init__.py`) && !exists(FS, `${d}/__init__.mpy`)) put(FS, `${d}/__init__.py`, "");
    }
  }
  const fwTests = path.join(root, "tests", "firmware");
  for (const rel of pyFiles(fwTests)) {
    if (path.posix.basename(rel) === "conftest.py") continue; // pytest-only
    put(FS, `/tests_fw/${rel}`, fs.readFileSync(path.join(fwTests, rel)));
  }
  for (const f of extraTests) put(FS, `/tests_fw/${path.basename(f)}`, fs.readFileSync(f));
  mkdirs(FS, "/tests_fw");
  FS.chdir("/tests_fw");
}

// Top-level `def test_...` names in source order (the module dict is unordered in MicroPython).
function testOrder(source) {
  return [...source.matchAll(/^def\s+(test_\w+)\s*\(/gm)].map((m) => m[1]);
}

const DRIVER = String.raw`
import sys, gc

def _mpytest_run(modname, ordered, heap):
    passed = failed = 0
    try:
        mod = __import__(modname)
    except BaseException as e:
        print("FAIL %s::<import>" % modname)
        sys.print_exception(e)
        return 0, 1
    names = []
    for n in ordered:
        if n not in names and callable(getattr(mod, n, None)):
            names.append(n)
    # test_* callables not written as a plain top-level def (e.g. assigned), after the others
    for n in sorted(dir(mod)):
        if n.startswith("test_") and n not in names and callable(getattr(mod, n)):
            names.append(n)
    for n in names:
        fn = getattr(mod, n)
        used = None
        try:
            if heap:
                gc.collect()
                gc.disable()
                before = gc.mem_alloc()
            try:
                fn()
            finally:
                if heap:
                    used = gc.mem_alloc() - before
                    gc.enable()
        except BaseException as e:
            failed += 1
            print("FAIL %s::%s" % (modname, n))
            sys.print_exception(e)
        else:
            passed += 1
            print("PASS %s::%s" % (modname, n))
        if used is not None:
            print("  heap %s::%s %d bytes allocated" % (modname, n, used))
        gc.collect()
    return passed, failed
`;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let loadMicroPython;
  try {
    ({ loadMicroPython } = await import("@micropython/micropython-webassembly-pyscript"));
  } catch (e) {
    process.stderr.write(`run.mjs: MicroPython WebAssembly build not installed (${e.code || e.message}); run \`make setup\`\n`);
    process.exit(2);
  }
  const fwDir = path.join(opts.root, "tests", "firmware") + path.sep;
  let passed = 0;
  let failed = 0;
  console.log(`# MicroPython (WebAssembly); /lib/icpurse = ${opts.mpy ? opts.mpy + " (.mpy) + " : ""}${opts.root}, /tests_fw = ${fwDir}`);
  for (const file of opts.files) {
    const modname = path.basename(file, ".py");
    const extra = file.startsWith(fwDir) ? [] : [file];
    const mp = await loadMicroPython({
      stdout: (line) => process.stdout.write(line + "\n"),
      stderr: (line) => process.stderr.write(line + "\n"),
    });
    try {
      install(mp.FS, opts.root, extra, opts.mpy);
      mp.runPython(DRIVER);
      if (opts.mpy) {
        // proof that the firmware under test is the compiled one
        mp.runPython(
          "import icpurse.firmware.reader as _rd, icpurse.firmware.linkauth as _la\n" +
            "assert _rd.__file__.endswith('.mpy') and _la.__file__.endswith('.mpy'), (_rd.__file__, _la.__file__)\n" +
            "print('# firmware from ' + _rd.__file__)\n",
        );
      }
      const order = JSON.stringify(testOrder(fs.readFileSync(file, "utf8")));
      mp.runPython(
        `_r = _mpytest_run(${JSON.stringify(modname)}, ${order}, ${opts.heap ? "True" : "False"})\n` +
          "_p, _f = _r\n",
      );
      passed += mp.globals.get("_p");
      failed += mp.globals.get("_f");
    } catch (e) {
      // Only harness trouble lands here; test exceptions are caught inside the interpreter.
      failed += 1;
      console.log(`FAIL ${modname}::<harness>`);
      console.log(e && e.message ? e.message : String(e));
    }
  }
  if (passed + failed === 0) console.log("# no test ran: a test file needs top-level `def test_...():`");
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
}

await main();
