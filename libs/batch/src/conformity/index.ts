// Conformity: the batch recompute of newly covered chunks against the speed layer's rows.
export { planConformity, type ConformityPlan } from './conformity-plan';
export { compareChunk, type CellMismatch, type RealtimeCell, type ViewConformity } from './conformity-check';
export { readSpeedProgress } from './speed-progress';
