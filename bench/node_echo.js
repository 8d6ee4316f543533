// bench/node_echo.js: the Node.js peer of the echo benchmark, written the
// way a Node user would: one 'data' listener that writes the chunk back.
//
//   node bench/node_echo.js [--host 127.0.0.1] [--port P]
//
// Prints "The server is running on IP: HOST port: PORT" (the line luanetd's
// echo_server.lua prints) once it listens.
'use strict';
const net = require('net');

let host = '127.0.0.1';
let port = 0;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (argv[i] === '--host' && i + 1 < argv.length) host = argv[i + 1];
  else if (argv[i] === '--port' && i + 1 < argv.length) port = Number(argv[i + 1]);
  else {
    process.stderr.write('usage: node_echo.js [--host H] [--port P]\n');
    process.exit(2);
  }
}

const server = net.createServer((sock) => {
  sock.on('data', (chunk) => sock.write(chunk));
  sock.on('error', () => {}); // a reset by the load client is not a crash
});
server.listen(port, host, () => {
  process.stdout.write(
    `The server is running on IP: ${host} port: ${server.address().port}\n`);
});
