import type { CanonicalResponse, ReasoningPart, StreamPart, TextPart, ToolCallPart, Usage } from '../core/types.js';

/** Folds stream parts into the non-streamed answer, the same way for every runner. */
export function collectSimResponse(parts: readonly StreamPart[], created: number): CanonicalResponse {
  const content: Array<TextPart | ReasoningPart | ToolCallPart> = [];
  const calls = new Map<number, ToolCallPart>();
  let id = '';
  let model = '';
  let usage: Usage = { inputTokens: 0, outputTokens: 0 };
  let finishReason: CanonicalResponse['finishReason'] = 'other';
  let stopSequence: string | undefined;
  for (const part of parts) {
    const last = content[content.length - 1];
    switch (part.type) {
      case 'start':
        id = part.id;
        model = part.model;
        break;
      case 'text-delta':
        if (last?.type === 'text') last.text += part.text;
        else content.push({ type: 'text', text: part.text });
        break;
      case 'reasoning-delta':
        if (last?.type === 'reasoning') last.text += part.text;
        else content.push({ type: 'reasoning', text: part.text });
        if (part.signature !== undefined) (content[content.length - 1] as ReasoningPart).signature = part.signature;
        break;
      case 'tool-call-start': {
        const call: ToolCallPart = { type: 'tool-call', id: part.id, name: part.name, arguments: '' };
        calls.set(part.index, call);
        content.push(call);
        break;
      }
      case 'tool-call-delta':
        calls.get(part.index)!.arguments += part.argumentsDelta;
        break;
      case 'usage':
        usage = part.usage;
        break;
      case 'finish':
        finishReason = part.finishReason;
        stopSequence = part.stopSequence;
        if (part.usage) usage = part.usage;
        break;
      case 'error':
        throw part.error;
    }
  }
  const response: CanonicalResponse = { id, model, content, finishReason, usage: { ...usage }, created };
  if (stopSequence !== undefined) response.stopSequence = stopSequence;
  return response;
}
