/**
 * Start the reference Bluesky PDS for tagcast's integration tests (`pytest -m bluesky_pds`).
 *
 * Install once:   cd tests/pds && npm ci          (Node >= 20; better-sqlite3 builds with node-gyp)
 * Run:            node tests/pds/launch.js
 *
 * It starts `TestNetworkNoAppView` from `@atproto/dev-env` (a PDS and a PLC directory in memory, SQLite in a
 * temporary folder, no AppView, no Postgres), creates the account `alice.test` with an app password, and prints
 * ONE JSON line on stdout:
 *
 *   {"url":"http://localhost:PORT","handle":"alice.test","password":"<app password>",
 *    "account_password":"...","did":"did:plc:...","ready_ms":1234}
 *
 * Then it stays up until stdin closes (the test process went away) or it gets SIGTERM/SIGINT, and removes its
 * temporary folder on the way out. Diagnostics go to stderr; stdout carries only that line.
 */
'use strict'

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const started = Date.now()
const HANDLE = process.env.PDS_HANDLE || 'alice.test'
const ACCOUNT_PASSWORD = process.env.PDS_PASSWORD || 'alice-account-pass'

async function main() {
  const { TestNetworkNoAppView } = require('@atproto/dev-env')
  // dev-env also makes folders of its own under os.tmpdir(): point that at our folder so nothing is left behind.
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tagcast-pds-'))
  process.env.TMPDIR = workDir
  let network
  try {
    network = await TestNetworkNoAppView.create({})
  } catch (err) {
    fs.rmSync(workDir, { recursive: true, force: true })
    throw err
  }

  let closing = false
  const shutdown = async (why) => {
    if (closing) return
    closing = true
    process.stderr.write(`tagcast-pds: stopping (${why})\n`)
    try {
      await network.close()
    } catch (err) {
      process.stderr.write(`tagcast-pds: close failed: ${err}\n`)
    }
    fs.rmSync(workDir, { recursive: true, force: true })
    process.exit(0)
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.stdin.on('end', () => shutdown('stdin closed'))
  process.stdin.on('error', () => shutdown('stdin error'))
  process.stdin.resume()

  const agent = network.pds.getClient()
  await agent.createAccount({ email: 'alice@example.test', handle: HANDLE, password: ACCOUNT_PASSWORD })
  const appPassword = await agent.com.atproto.server.createAppPassword({ name: 'tagcast-tests' })

  const info = {
    url: network.pds.url,
    handle: HANDLE,
    password: appPassword.data.password,
    account_password: ACCOUNT_PASSWORD,
    did: agent.session.did,
    ready_ms: Date.now() - started,
  }
  process.stdout.write(JSON.stringify(info) + '\n')
  process.stderr.write(`tagcast-pds: ready at ${info.url} in ${info.ready_ms} ms\n`)
}

main().catch((err) => {
  process.stderr.write(`tagcast-pds: failed to start: ${err && err.stack ? err.stack : err}\n`)
  process.exit(1)
})
