import { connect } from 'node:net';

/** Writes raw bytes to `url`'s host and port and reads (as latin1) until the server closes the connection. */
export function rawExchange(url: string, text: string): Promise<string> {
  const { port, hostname } = new URL(url);
  return new Promise<string>((resolve, reject) => {
    const s = connect(Number(port), hostname);
    let data = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (data += d));
    s.on('close', () => resolve(data));
    s.on('error', reject);
    s.write(text);
  });
}
