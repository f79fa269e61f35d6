import type { AddressInfo } from 'node:net';
import { IncomingMessage, ServerResponse, type Server } from 'node:http';
import express from 'express';
import { createAppServer } from './http';

let server: Server;
let baseUrl: string;
const app = express();
app.set('query parser', 'simple');
app.get('/echo', (req, res) => {
  res.status(201).json({ app: req.app === app, query: req.query, isMessage: req instanceof IncomingMessage });
});
/** The prototypes each request and response had when the server made them, before express saw them. */
const born: { request: unknown; response: unknown }[] = [];

beforeAll(async () => {
  server = createAppServer(app, { maxHeaderSize: 8192 });
  server.prependListener('request', (req, res) => {
    born.push({ request: Object.getPrototypeOf(req), response: Object.getPrototypeOf(res) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

it("makes requests and responses with the app's own prototypes, so express has none to swap", async () => {
  born.length = 0;
  const answer = await fetch(`${baseUrl}/echo?seat=7`);
  expect(answer.status).toBe(201);
  expect(await answer.json()).toEqual({ app: true, query: { seat: '7' }, isMessage: true });
  expect(born).toHaveLength(1);
  expect(born[0]!.request).toBe(app.request);
  expect(born[0]!.response).toBe(app.response);
  expect(app.response).toBeInstanceOf(ServerResponse);
});

it("keeps the server's own options", () => {
  expect(server.maxHeaderSize).toBe(8192);
});

it("answers express's own 404 and keeps the connection usable", async () => {
  const missing = await fetch(`${baseUrl}/nowhere`);
  expect(missing.status).toBe(404);
  await missing.text();
  expect((await fetch(`${baseUrl}/echo`)).status).toBe(201);
});
