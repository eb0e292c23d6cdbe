/**
 * The house's layering, as a lint rule (see "Architecture" in the README):
 *   infrastructure (shared, events, stripe, config, local)  ←  core  ←  reacting domains  ←  the top (web, webhooks, jobs, composition)
 * An import may only point down or sideways within its layer, and no file outside a domain imports that
 * domain's Mongoose model (`*.model.ts`): others read through the owner's exported queries, and only the
 * owner writes its documents. A type-only import of a model file (`import type { Plan }`) is allowed: it
 * names the shape the owner's queries return and reaches no collection. Infrastructure (shared, events,
 * stripe) may use its own models.
 */
import path from 'node:path';

export const LAYERS = {
  infrastructure: ['shared', 'events', 'stripe', 'config', 'local'],
  core: ['merchants', 'customers', 'plans', 'addons', 'catalog', 'inventory', 'subscriptions', 'orders', 'renewals'],
  reacting: ['perks', 'loyalty', 'offers', 'referrals', 'gifts', 'retention', 'messages', 'analytics', 'shoppers', 'promotions'],
};
const RANK = { infrastructure: 0, core: 1, reacting: 2, top: 3 };

/** Where a file sits: { area: 'src' | 'jobs' | 'other', domain, layer }. */
function placeOf(file, root) {
  const rel = path.relative(root, file).split(path.sep);
  if (rel[0] === 'jobs') return { area: 'jobs', domain: 'jobs', layer: 'top' };
  if (rel[0] !== 'src') return { area: 'other' };
  if (rel.length === 2) return { area: 'src', domain: '(root)', layer: 'top' };
  const domain = rel[1];
  const layer = Object.entries(LAYERS).find(([, domains]) => domains.includes(domain))?.[0] ?? 'top';
  return { area: 'src', domain, layer };
}

export const layeringRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports follow the layering; no reach into another domain’s model' },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, additionalProperties: false }],
    messages: {
      upward:
        '{{from}} ({{fromLayer}}) must not import {{to}} ({{toLayer}}): the {{fromLayer}} never calls up. Record a fact and add a listener in src/listeners.ts, or have the composition root hand in a function.',
      model: '{{from}} must not import {{file}}, the model of {{to}}: read through {{to}}’s service, and let only {{to}} write its documents.',
    },
  },
  create(context) {
    const root = context.options[0]?.root ?? process.cwd();
    const file = context.filename;
    const from = placeOf(file, root);
    if (from.area === 'other') return {};
    function check(node, source, typeOnly = false) {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), source);
      const to = placeOf(target, root);
      if (to.area !== 'src' || to.domain === from.domain) return;
      if (/\.model(\.ts)?$/.test(source) && !typeOnly && !(from.layer === 'infrastructure' && to.layer === 'infrastructure')) {
        context.report({ node, messageId: 'model', data: { from: from.domain, to: to.domain, file: path.relative(root, target) } });
        return;
      }
      if (RANK[to.layer] > RANK[from.layer]) {
        context.report({ node, messageId: 'upward', data: { from: from.domain, fromLayer: from.layer, to: to.domain, toLayer: to.layer } });
      }
    }
    return {
      ImportDeclaration(node) {
        const typeOnly =
          node.importKind === 'type' || (node.specifiers.length > 0 && node.specifiers.every((s) => s.type === 'ImportSpecifier' && s.importKind === 'type'));
        check(node, node.source.value, typeOnly);
      },
      ExportNamedDeclaration(node) {
        if (node.source) check(node, node.source.value, node.exportKind === 'type');
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value);
      },
      ImportExpression(node) {
        if (node.source.type === 'Literal') check(node, node.source.value);
      },
    };
  },
};

export default { rules: { layering: layeringRule } };
