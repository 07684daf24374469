import type { CanonicalRequest, JsonObject, JsonValue } from '../core/types.js';
import type { SimScriptResolver } from '../sim/sim-script.js';
import type { Scenario } from './scenario-schema.js';

function lastUserText(request: CanonicalRequest): string {
  const message = request.messages.findLast((m) => m.role === 'user');
  return message?.content.map((part) => (part.type === 'text' ? part.text : '')).join('') ?? '';
}

/** The scenario's scripted turns as the sim engine's resolver; undefined without any. */
export function scenarioScripts(scenario: Scenario): SimScriptResolver | undefined {
  const turns = scenario.model.script.map((turn) => ({ ...turn, pattern: turn.message === undefined ? undefined : new RegExp(turn.message) }));
  if (turns.length === 0) return undefined;
  return (request, context) => {
    const text = lastUserText(request);
    const found = turns.find((t) => (t.model === undefined || t.model === context.model) && (t.turn === undefined || t.turn === context.turn) && (t.pattern === undefined || t.pattern.test(text)));
    if (!found) return undefined;
    const { reply } = found;
    return {
      ...(reply.text !== undefined ? { text: reply.text } : {}),
      ...(reply.json !== undefined ? { json: reply.json as JsonValue } : {}),
      ...(reply.toolCalls ? { toolCalls: reply.toolCalls.map((call) => ({ name: call.name, arguments: call.arguments as JsonObject | string })) } : {}),
      ...(reply.fault !== undefined ? { fault: reply.fault } : {}),
    };
  };
}
