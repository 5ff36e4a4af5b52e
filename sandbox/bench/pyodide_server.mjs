// Benchmark peer: Pyodide (CPython on Emscripten) in Node. Loads once, then answers one
// JSON request per stdin line {"code": "..."} with {"ms": <runPython time>, "out": "..."}.
// Timing is taken inside Node around runPython, like the sandbox's in-process timing.
import { loadPyodide } from "pyodide";
import readline from "node:readline";
import { performance } from "node:perf_hooks";

const t0 = performance.now();
const py = await loadPyodide();
let out = "";
py.setStdout({ batched: (s) => { out += s + "\n"; } });
process.stdout.write(JSON.stringify({ ready: true, load_ms: performance.now() - t0 }) + "\n");

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  const { code } = JSON.parse(line);
  out = "";
  const start = performance.now();
  let error = null;
  try {
    // A fresh globals dict per run, as the sandbox gives a fresh __main__.
    const globals = py.toPy({});
    py.runPython(code, { globals });
    globals.destroy();
  } catch (e) {
    error = String(e);
  }
  const ms = performance.now() - start;
  process.stdout.write(JSON.stringify({ ms, out, error }) + "\n");
}
