export { type FakeHub, type FakeHubOptions, startFakeHub } from './fake-hub';
export type { FakeHubRepo } from './fake-repo';
export { type PopulatedRepo, populateHubCache } from './populate-hub-cache';
