/** Baseline: node:http that parses the JSON body and answers; no authentication, no database. */
import { answer, HEARTBEAT_PATH, fail, readJson, serve } from './common';

serve('bare node:http', async (req, res) => {
  const id = HEARTBEAT_PATH.exec(req.url ?? '')?.[1];
  const body = await readJson(req);
  if (!id || typeof body !== 'object' || body === null) return fail(res, 400, 'bad request');
  answer(res);
});
