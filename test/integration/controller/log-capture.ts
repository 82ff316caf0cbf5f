import { Writable } from 'node:stream';

/** Collects every log line of a test run so it can be scanned for token values. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });

  /** Lines that contain any of the given secrets. */
  leaks(secrets: string[]): string[] {
    return this.lines.filter((line) => secrets.some((s) => s && line.includes(s)));
  }
}
