// A small HTTP service over Prisma Client: GET /health, GET /users.
// A client generated from an older schema than the database's fails here the way users
// meet it ("Unknown argument ..."), which is what prisync prevents.
"use strict";

const http = require("node:http");
const { PrismaClient } = require("./generated/client");
const { PrismaPg } = require("@prisma/adapter-pg");

const prisma = new PrismaClient({
  adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL }),
});
const port = Number(process.env.PORT || 3000);

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body) + "\n");
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.url === "/health") {
      await prisma.$queryRaw`SELECT 1`;
      return send(res, 200, { ok: true });
    }
    if (req.url === "/users") {
      return send(res, 200, await prisma.user.findMany({ include: { posts: true } }));
    }
    send(res, 404, { error: "not found" });
  } catch (e) {
    send(res, 500, { error: String(e.message || e) });
  }
});

server.listen(port, () => console.log(`listening on :${port}`));

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => server.close(() => prisma.$disconnect().finally(() => process.exit(0))));
}
