// What the bundle gives for Node's "crypto" module, which @hpke/common
// imports only where globalThis.crypto is missing (Node 18 and older):
// nothing, so the bundle imports no module and runs the same in a browser
// and in Node 20+, both of which have globalThis.crypto.
export const webcrypto = undefined;
