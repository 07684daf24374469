import type { CanonicalRequest, StreamPart, Usage } from './types.js';

/** A rough token count (4 characters per token) for when an upstream reports no usage (SPEC PV-5). */
export function estimateTokens(characters: number): number {
  return Math.ceil(characters / 4);
}

/** Characters of prompt text, tool calls and tool definitions in a request. */
export function requestCharacters(req: CanonicalRequest): number {
  let characters = 0;
  for (const message of req.messages) {
    for (const part of message.content) {
      if (part.type === 'text' || part.type === 'reasoning') characters += part.text.length;
      else if (part.type === 'tool-call') characters += part.name.length + part.arguments.length;
      else if (part.type === 'tool-result') for (const inner of part.content) if (inner.type === 'text') characters += inner.text.length;
    }
  }
  if (req.tools) characters += JSON.stringify(req.tools).length;
  return characters;
}

/** Characters of model output a stream part carries. */
export function outputCharacters(part: StreamPart): number {
  switch (part.type) {
    case 'text-delta':
    case 'reasoning-delta':
      return part.text.length;
    case 'tool-call-start':
      return part.name.length;
    case 'tool-call-delta':
      return part.argumentsDelta.length;
    default:
      return 0;
  }
}

/** Usage counted from text, flagged `estimated`, for upstreams (or aborted streams) that report none. */
export function estimatedUsage(req: CanonicalRequest, outputChars: number): Usage {
  return { inputTokens: estimateTokens(requestCharacters(req)), outputTokens: estimateTokens(outputChars), estimated: true };
}
