import { LeastConnections } from './least-connections.js';
import type { Selector } from './selector.js';

/**
 * Weighted least connections (LVS wlc): fewest in-flight requests per unit of effective
 * weight; ties rotate in proportion to weight. Same heap as least-connections.
 */
export const createWeightedLeastConnections = (): Selector => new LeastConnections(true);
