// Root-only tests skip (with a visible reason) instead of failing on machines without root.
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Call first in a root-only test or hook: skips it, saying why, unless running as root. */
export function requireRoot(ctx: Mocha.Context): void {
  if (isRoot()) return;
  const title = ctx.currentTest?.fullTitle() ?? ctx.test?.fullTitle() ?? 'test';
  console.warn(`  skipped (needs root for network namespaces): ${title}`);
  ctx.skip();
}
