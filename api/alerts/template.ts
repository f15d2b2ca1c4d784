import type { AgentRef } from './alerts.types';
import { labelValue } from './labels';

/**
 * Summary and description templates: text with `{{ name }}` placeholders, nothing else
 * (no logic, so a template can neither loop nor fail at evaluation). A template is
 * parsed when its rule is saved; an unknown name or an unclosed brace is refused then.
 */
const FIELDS = ['agent.id', 'agent.name', 'agent.type', 'agent.host', 'agent.port', 'agent.environment', 'agent.status', 'agent.tags', 'rule.name', 'rule.severity', 'value', 'metric'] as const;
const PLACEHOLDER = /\{\{\s*([a-zA-Z_][a-zA-Z0-9_.]*)\s*\}\}/g;

export interface TemplateContext {
  agent: AgentRef;
  rule: { name: string; severity: string };
  value: number | null;
  metric?: string;
  labels: Record<string, string>;
}

/** The problem with a template, or undefined when it parses. */
export function templateProblem(template: string): string | undefined {
  const stripped = template.replace(PLACEHOLDER, (_, name: string) => {
    if (!(FIELDS as readonly string[]).includes(name) && !/^labels\.[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) return `\u0000${name}\u0000`;
    return '';
  });
  const unknown = /\u0000([^\u0000]*)\u0000/.exec(stripped);
  if (unknown) return `{{${unknown[1]}}} is not a known name; use ${FIELDS.join(', ')} or labels.<name>`;
  if (stripped.includes('{{') || stripped.includes('}}')) return 'has an unclosed or malformed {{ }} placeholder';
  return undefined;
}

/** Up to three decimals, without trailing zeros: 93.456789 → "93.457", 12 → "12". */
export const formatValue = (v: number | null) => (v === null ? '' : String(Math.round(v * 1000) / 1000));

export function render(template: string, ctx: TemplateContext): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    if (name === 'value') return formatValue(ctx.value);
    if (name === 'metric') return ctx.metric ?? '';
    if (name.startsWith('labels.')) return labelValue(ctx.labels, name.slice(7));
    if (name.startsWith('rule.')) return String(ctx.rule[name.slice(5) as 'name' | 'severity']);
    const field = name.slice(6) as keyof AgentRef;
    const v = ctx.agent[field];
    return Array.isArray(v) ? v.join(', ') : String(v ?? '');
  });
}
