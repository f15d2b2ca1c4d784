/**
 * The floor of any remote-write door in one Node.js process: node:http reading the body
 * and decoding it with the server's own decoder (snappy, then the WriteRequest into
 * points), storing nothing. What it takes is the most a door could take on this machine
 * however cheap its storage were; set beside Prometheus, it says how far a faster write
 * path could go.
 */
import { decodeRemoteWrite } from '../../api/metrics/remote-write.decoder';
import { fail, serve } from './common';

const MAX_DECODED = 64 * 1024 * 1024;

serve('bare remote-write decode', async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const { points } = decodeRemoteWrite(Buffer.concat(chunks), MAX_DECODED);
  if (points.length === 0) return fail(res, 400, 'no samples');
  res.writeHead(204).end();
});
