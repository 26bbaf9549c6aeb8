// The counted product lives in libs/transforms (both layers use it); re-exported for the batch layer's modules.
export { countedAggregator, countedView, type CountedState } from '@tandem/transforms';
