// npm-statement.js drives npm's own libnpmpublish publish() with
// provenance on, offline: sigstore's attest (which would sign and log) and
// npm-registry-fetch (which would PUT) are replaced in the require cache,
// so npm's real code builds the subject (npa.toPurl, ssri) and the
// statement (lib/provenance.js) from the process environment, and nothing
// leaves the machine.
//
// usage: node npm-statement.js <libnpmpublish dir> <package.json> <tarball>
// prints: {"payloadType": ..., "statement": <parsed payload>, "body": <PUT body>}
'use strict'
const fs = require('node:fs')
const Module = require('node:module')

const [libDir, manifestPath, tarballPath] = process.argv.slice(2)

function stub (request, exports) {
  const file = require.resolve(request, { paths: [libDir] })
  const m = new Module(file)
  m.filename = file
  m.loaded = true
  m.exports = exports
  require.cache[file] = m
}

let captured
stub('sigstore', {
  attest: async (payload, payloadType) => {
    captured = { payloadType, payload: payload.toString('utf8') }
    return {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { tlogEntries: [{ logIndex: '0' }] },
      dsseEnvelope: { payload: payload.toString('base64'), payloadType, signatures: [] },
    }
  },
  verify: async () => { throw new Error('verify is not used by this script') },
})

const realFetch = require(require.resolve('npm-registry-fetch', { paths: [libDir] }))
let body
const fakeFetch = async (uri, opts) => {
  body = opts.body
  return { status: 201, headers: new Map(), json: async () => ({}) }
}
fakeFetch.pickRegistry = realFetch.pickRegistry
fakeFetch.json = async () => { throw new Error('no registry requests expected') }
stub('npm-registry-fetch', fakeFetch)

const publish = require(libDir)
const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'))
const tarball = fs.readFileSync(tarballPath)

publish.publish(manifest, tarball, {
  provenance: true,
  access: 'public',
  registry: 'http://127.0.0.1:9/',
  npmVersion: '11.0.0',
}).then(() => {
  if (!captured) throw new Error('sigstore.attest was not called')
  process.stdout.write(JSON.stringify({
    payloadType: captured.payloadType,
    statement: JSON.parse(captured.payload),
    body,
  }))
}).catch((err) => {
  process.stderr.write(`${err.code || ''} ${err.stack}\n`)
  process.exit(1)
})
