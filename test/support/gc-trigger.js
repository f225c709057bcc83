/*
 * Loaded into a service under test (NODE_OPTIONS="--expose-gc --require <this file>"): on SIGWINCH it
 * runs a full garbage collection and says so on stderr. V8 collects its old generation lazily, so a
 * process's RSS after a burst holds garbage for an unpredictable time; a test that asks what memory
 * the service still holds collects first. (SIGWINCH: harmless by default, and not a shutdown signal.)
 */
let runs = 0;
process.on('SIGWINCH', () => {
  global.gc();
  const m = process.memoryUsage();
  const mb = (n) => Math.round(n / 1048576);
  const heap = `heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB, external ${mb(m.external)} MB`;
  process.stderr.write(`full gc ${++runs} done: rss ${mb(m.rss)} MB, ${heap}\n`);
});
