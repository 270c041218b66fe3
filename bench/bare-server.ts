/**
 * The baseline: the same JSON answer as GET /api/ping from bare node:http, so the gateway's cost
 * is measured against what Node itself can do on this machine in the same run.
 */
import http from "node:http";

const port = Number(process.env.PORT ?? 3999);
/** Busy CPU per request, to run bare node:http at a slower server's pace (gateway-features.bench.ts). */
const busyMicros = Number(process.env.BUSY_MICROS ?? 0);

function busyFor(micros: number): void {
	const until = process.hrtime.bigint() + BigInt(Math.round(micros * 1000));
	while (process.hrtime.bigint() < until);
}

http
	.createServer((_req, res) => {
		if (busyMicros > 0) busyFor(busyMicros);
		const body = JSON.stringify({ pong: true, serverTime: new Date().toISOString() });
		res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
		res.end(body);
	})
	.listen(port, "127.0.0.1", () => process.send?.("listening"));
