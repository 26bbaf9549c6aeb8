export * from './aggregators/numeric';
export * from './aggregators/distinct';
export * from './aggregators/quantiles';
export * from './aggregators/top-k';
