/**
 * The baseline: the same JSON answer as GET /api/ping from bare node:http, so the gateway's cost
 * is measured against what Node itself can do on this machine in the same run.
 */
import http from "node:http";

const port = Number(process.env.PORT ?? 3999);
http
	.createServer((_req, res) => {
		const body = JSON.stringify({ pong: true, serverTime: new Date().toISOString() });
		res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
		res.end(body);
	})
	.listen(port, "127.0.0.1", () => process.send?.("listening"));
