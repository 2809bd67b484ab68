// Route policy: model, validation, evaluation and translation from the speaker configuration.
export { definePolicy } from './define.js';
export { PolicyError } from './errors.js';
export { evaluatePolicy, type PolicyContext, type PolicyVerdict, prependAs } from './evaluate.js';
export type { PolicyStatement, PrefixListEntry, RouteAction, RouteMatch, RoutePolicy } from './model.js';
export { covers, entryMatches, lengthRange } from './prefix-match.js';
export { fromConfigPolicies, fromConfigPolicy, parseCommunity, parseLargeCommunity } from './translate.js';
