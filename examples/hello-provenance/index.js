'use strict'

/**
 * Returns a greeting that says where this package came from.
 * @param {string} [name] who to greet
 * @returns {string}
 */
function hello (name = 'world') {
  return `Hello, ${name}! This package was built in CI and published with Sigstore provenance.`
}

module.exports = { hello }

if (require.main === module) {
  console.log(hello(process.argv[2]))
}
