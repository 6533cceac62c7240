// Times verify on the two valid receipts of receipt/testdata: the first
// call, then the median and 90th percentile of 100 after 5 warm-up calls.
// Run: node tools/timing.mjs (after npm run build).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { verify } from "../dist/verify.js";

const testdata = fileURLToPath(new URL("../../../receipt/testdata/", import.meta.url));
const genesis = readFileSync(testdata + "genesis.json", "utf8");
for (const name of ["receipt.json", "receipt-trace.json"]) {
  const receipt = readFileSync(testdata + name, "utf8");
  let t0 = performance.now();
  if (!verify(receipt, genesis).ok) throw new Error(name + " does not verify");
  const first = performance.now() - t0;
  for (let i = 0; i < 5; i++) verify(receipt, genesis);
  const times = [];
  for (let i = 0; i < 100; i++) {
    t0 = performance.now();
    verify(receipt, genesis);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`${name}: first ${first.toFixed(1)} ms, median ${times[50].toFixed(2)} ms, p90 ${times[90].toFixed(2)} ms (Node ${process.version})`);
}
