/**
 * Docker's multiplexed stream framing for non-tty attach/logs/exec:
 * an 8-byte header [stream, 0, 0, 0, size uint32 BE] before each frame.
 * https://docs.docker.com/engine/api/v1.45/#tag/Container/operation/ContainerAttach
 */
export type StdStream = "stdin" | "stdout" | "stderr";

const streamByte: Record<StdStream, number> = { stdin: 0, stdout: 1, stderr: 2 };

export function frame(stream: StdStream, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = streamByte[stream];
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}
