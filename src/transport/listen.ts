import type { Server } from 'node:net';

/**
 * Listens on `port` (0: any free port); resolves with the bound port, rejects with a one-line
 * message naming the listener (`what`: "AMQP", "management", "metrics") when it cannot: a port in
 * use or not allowed stops start-up with a message an operator can act on.
 */
export function listenOn(server: Server, what: string, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const where = `${host ?? '0.0.0.0'}:${port}`;
      if (err.code === 'EADDRINUSE') reject(new Error(`${what} port ${where} is already in use`));
      else if (err.code === 'EACCES') reject(new Error(`no permission to listen on ${what} port ${where}`));
      else reject(new Error(`cannot listen on ${what} port ${where}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen({ port, host }, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
