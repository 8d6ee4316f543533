// bench/node_ws_echo.js: the Node.js peer of the WebSocket benchmark, with
// the `ws` package (the one Node users pick; pinned in bench/package.json),
// written as its README's echo server: every message back with its type.
// No permessage-deflate, as ws_echo.lua without --deflate.
//
//   node bench/node_ws_echo.js [--host 127.0.0.1] [--port P]
//
// Prints "The server is running on IP: HOST port: PORT" once it listens.
'use strict';
const { WebSocketServer } = require('ws');

let host = '127.0.0.1';
let port = 0;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (argv[i] === '--host' && i + 1 < argv.length) host = argv[i + 1];
  else if (argv[i] === '--port' && i + 1 < argv.length) port = Number(argv[i + 1]);
  else {
    process.stderr.write('usage: node_ws_echo.js [--host H] [--port P]\n');
    process.exit(2);
  }
}

const wss = new WebSocketServer({ host, port, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {}); // a reset by the load client is not a crash
});
wss.on('listening', () => {
  process.stdout.write(`The server is running on IP: ${host} port: ${wss.address().port}\n`);
});
