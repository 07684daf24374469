/**
 * One OpenAI chat-completion chunk of model `m` as an SSE frame, for test upstreams; `extra` adds
 * top-level fields (the last chunk's `usage`).
 */
export function chatChunkFrame(delta: object, finish: string | null, extra: object = {}): string {
  return `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
}
