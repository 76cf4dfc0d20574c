// The SDK package's entry for browsers and every runtime with a global WebSocket (node.ts is the
// one for Node): the client, and the generated documents and types for Apollo, urql or fetch.
export * from './client.js';
export * from './generated/graphql.js';
