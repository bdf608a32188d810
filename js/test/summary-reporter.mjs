// node:test reporter that ends the run with the plain line "N passed, M failed" (read by
// tests/run_all.sh and CI), next to the spec reporter's output.
export default async function* summary(source) {
  let passed = 0,
    failed = 0,
    skipped = 0;
  for await (const { type, data } of source) {
    if (type !== "test:pass" && type !== "test:fail") continue;
    if (data.details && data.details.type === "suite") continue;
    if (data.skip || data.todo) skipped++;
    else if (type === "test:pass") passed++;
    else failed++;
  }
  yield `${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : "") + "\n";
}
