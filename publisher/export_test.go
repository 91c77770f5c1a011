package publisher

// VerifyBundle exposes verifyBundle to the external end-to-end tests.
var VerifyBundle = verifyBundle
