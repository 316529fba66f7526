export * from './chat-client.ts';
export * from './remote-policy.ts';
