// A small HTTP service over Prisma Client: GET /health, GET /users, POST /users.
// A client generated from an older schema than the one on disk fails here the way users
// meet it ("Unknown argument `nickname`"), which is what prisync prevents.
"use strict";

const http = require("node:http");
const { PrismaClient, Prisma } = require("@prisma/client");
const { PrismaPg } = require("@prisma/adapter-pg");

const prisma = new PrismaClient({
  adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL }),
});
const port = Number(process.env.PORT || 3000);

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body) + "\n");
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => {
      try {
        resolve(text === "" ? {} : JSON.parse(text));
      } catch (e) {
        reject(Object.assign(new Error(`invalid JSON body: ${e.message}`), { status: 400 }));
      }
    });
    req.on("error", reject);
  });
}

// Prisma's own message, so a stale client reads as users see it; a request the client
// rejects (unknown field, missing value) or a constraint the database enforces is the
// caller's problem (400), anything else the server's (500).
function statusOf(e) {
  if (e.status) return e.status;
  if (e instanceof Prisma.PrismaClientValidationError) return 400;
  if (e instanceof Prisma.PrismaClientKnownRequestError) return 400;
  return 500;
}

const server = http.createServer(async (req, res) => {
  try {
    const path = req.url.split("?")[0];
    if (req.method === "GET" && path === "/health") {
      await prisma.$queryRaw`SELECT 1`;
      return send(res, 200, { ok: true });
    }
    if (req.method === "GET" && path === "/users") {
      return send(res, 200, await prisma.user.findMany({ orderBy: { id: "asc" } }));
    }
    if (req.method === "POST" && path === "/users") {
      return send(res, 201, await prisma.user.create({ data: await readJson(req) }));
    }
    send(res, 404, { error: `no route ${req.method} ${path}` });
  } catch (e) {
    send(res, statusOf(e), { error: String(e.message || e) });
  }
});

server.listen(port, () => console.log(`listening on :${port}`));

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => server.close(() => prisma.$disconnect().finally(() => process.exit(0))));
}
