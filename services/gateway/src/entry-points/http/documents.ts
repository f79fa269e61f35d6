import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Router, type RequestHandler, type Response } from 'express';
import { API_VERSION, DocumentPaths, buildAsyncApiDocument, buildOpenApiDocument } from '@zephyr/contracts';
import { limitByIp, type GuardDeps } from './guard';

/** The Swagger UI files the reference page loads, served from the installed package (no CDN). */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};
const ASSET_PREFIX = `${DocumentPaths.docs}/assets`;
const INIT_PATH = `${DocumentPaths.docs}/init.js`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Zephyr API reference</title>
<link rel="stylesheet" href="${ASSET_PREFIX}/swagger-ui.css">
<link rel="icon" type="image/png" href="${ASSET_PREFIX}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${ASSET_PREFIX}/swagger-ui-bundle.js"></script>
<script src="${INIT_PATH}"></script>
</body>
</html>
`;

// A file, not an inline script, so the page runs under helmet's default Content-Security-Policy.
// validatorUrl: null keeps Swagger UI from sending the document to its public validator.
const INIT = `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(DocumentPaths.openapi)},
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

function swaggerUiDir(): string {
  return path.dirname(require.resolve('swagger-ui-dist/package.json'));
}

/** Built on first use and kept: the documents are pure functions of the contracts. */
function once<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}

function send(res: Response, type: string, body: string | Buffer, cacheControl = 'no-cache'): void {
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', cacheControl);
  res.send(body);
}

export type DocumentsDeps = Pick<GuardDeps, 'ipLimit' | 'onRateLimited'>;

/**
 * SPEC.md §8: GET/HEAD /api/openapi.json, /api/asyncapi.json and the /api/docs page with its assets.
 * Public and not proxied, but counted against the per-IP limit like every other request. Anything else
 * (another method, an unknown asset) falls through to the gateway's guard and its 404.
 */
export function documentsRouter(deps: DocumentsDeps): RequestHandler {
  const openapi = once(() => JSON.stringify(buildOpenApiDocument({ version: API_VERSION })));
  const asyncapi = once(() => JSON.stringify(buildAsyncApiDocument({ version: API_VERSION })));
  const assets = new Map<string, Promise<Buffer>>();
  const asset = (name: string) => {
    let file = assets.get(name);
    if (!file) {
      file = readFile(path.join(swaggerUiDir(), name));
      // A failed read is not kept, so the next request tries again.
      file.catch(() => assets.delete(name));
      assets.set(name, file);
    }
    return file;
  };

  const router = Router();
  const limited = limitByIp(deps);
  router.get(DocumentPaths.openapi, limited, (_req, res) => send(res, 'application/json; charset=utf-8', openapi()));
  router.get(DocumentPaths.asyncapi, limited, (_req, res) => send(res, 'application/json; charset=utf-8', asyncapi()));
  router.get(DocumentPaths.docs, limited, (_req, res) => send(res, 'text/html; charset=utf-8', PAGE));
  router.get(INIT_PATH, limited, (_req, res) => send(res, 'text/javascript; charset=utf-8', INIT));
  router.get(`${ASSET_PREFIX}/:file`, (req, res, next) => {
    const type = ASSETS[req.params.file!];
    if (!type) {
      next();
      return;
    }
    limited(req, res, (err?: unknown) => {
      if (err) {
        next(err);
        return;
      }
      asset(req.params.file!).then((body) => send(res, type, body, 'public, max-age=3600'), next);
    });
  });
  return router;
}
