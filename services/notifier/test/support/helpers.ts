import WebSocket from 'ws';
import { metricValue, type ServiceProcess } from '@zephyr/testing';

export const wsUrl = (proc: ServiceProcess, path = '/ws', token?: string): string =>
  `ws://127.0.0.1:${proc.port}${path}${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;

/** Resolves with the HTTP status of a refused upgrade (or 101 when it was accepted). */
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    socket.once('open', () => {
      resolve(101);
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

export function closeCode(socket: WebSocket, timeoutMs = 5000): Promise<number> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
    socket.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Reads one metric of a process (first series of that name; every series carries the service label). */
export const metric = (proc: ServiceProcess, name: string): Promise<number> => metricValue(proc.baseUrl, name);
