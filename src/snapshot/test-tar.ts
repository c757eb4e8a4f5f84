import tar from "tar-stream";
import type { Header } from "tar-stream";

/** Test helper: a tar archive in memory from headers (+ optional bodies). */
export interface TestEntry {
  header: Partial<Header> & { name: string };
  body?: string | Buffer;
}

export async function makeTar(entries: TestEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of entries) {
    const body = e.body === undefined ? undefined : Buffer.from(e.body);
    const header = { mtime: new Date(1_000_000_000_000), ...e.header } as Header;
    if (body !== undefined) header.size = body.length;
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body !== undefined) pack.entry(header, body, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
