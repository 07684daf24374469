import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AgentDescriptor } from '../store/interfaces.js';
import { isAgentDefinition, type AgentDefinition } from './define-agent.js';

/** The agents a process hosts, by name. */
export class AgentRegistry {
  private readonly agents = new Map<string, AgentDefinition>();

  constructor(agents: Iterable<AgentDefinition> = []) {
    for (const agent of agents) this.add(agent);
  }

  /** Adds an agent; two agents of one name are a mistake worth failing on at start. */
  add(agent: AgentDefinition): void {
    if (this.agents.has(agent.name)) throw new Error(`two agents are named '${agent.name}'; agent names must be unique`);
    this.agents.set(agent.name, agent);
  }

  get(name: string): AgentDefinition | undefined {
    return this.agents.get(name);
  }

  get names(): string[] {
    return [...this.agents.keys()];
  }

  get size(): number {
    return this.agents.size;
  }

  /** What other processes need to know about these agents (validation, detach policy). */
  descriptors(): AgentDescriptor[] {
    return [...this.agents.values()].map((agent) => ({ name: agent.name, inputSchema: agent.inputSchema, onDetach: agent.onDetach ?? 'keep' }));
  }
}

/** Every agent a module exports: its default export (an agent or a list), an `agents` list, and named agents. */
export function agentsOfModule(loaded: Record<string, unknown>): AgentDefinition[] {
  const found = new Set<AgentDefinition>();
  const take = (value: unknown) => {
    if (Array.isArray(value)) for (const item of value) take(item);
    else if (isAgentDefinition(value)) found.add(value);
  };
  for (const value of Object.values(loaded)) take(value);
  return [...found];
}

/**
 * Loads the agents of a module (`--agents ./agents.js` or `runs.agents`), resolved against the
 * working directory. Like custom validators, the path comes only from the operator (flag or config
 * file), never from a request: clients name agents, they never supply code (SPEC LR-10, SEC-2).
 */
export async function loadAgents(module: string): Promise<AgentRegistry> {
  const path = isAbsolute(module) ? module : resolve(process.cwd(), module);
  const loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const agents = agentsOfModule(loaded);
  if (agents.length === 0) throw new Error(`${module} exports no agents; export defineAgent({ name, run }) results (default, named, or an 'agents' array)`);
  return new AgentRegistry(agents);
}
