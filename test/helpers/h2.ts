import { connect } from 'node:http2';

/** One HTTP/2 GET of `path` on a new TLS session to 127.0.0.1:`port` (certificate not checked); resolves with status and body. */
export function h2get(port: number, path: string, servername = 'a.test'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername });
    session.on('error', reject);
    const req = session.request({ ':path': path });
    let status = 0;
    let body = '';
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      session.close();
      resolve({ status, body });
    });
    req.on('error', reject);
    req.end();
  });
}
