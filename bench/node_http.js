// bench/node_http.js: the Node.js peer of the HTTP benchmark: Node's `http`
// module answering every request with "Hello, World!".
//   node bench/node_http.js --port P
"use strict";
const http = require("http");
const i = process.argv.indexOf("--port");
const port = i > 0 ? Number(process.argv[i + 1]) : 0;
const server = http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": 13 });
  res.end("Hello, World!");
});
server.listen(port, "127.0.0.1", () => {
  console.log(`The server is running on IP: 127.0.0.1 port: ${server.address().port}`);
});
