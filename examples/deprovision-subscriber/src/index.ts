export {
  actionOf,
  handleMessage,
  memoryVersionStore,
  startSubscriber,
  type Deprovisioner,
  type Subscriber,
  type SubscriberOptions,
  type VersionStore,
} from './subscriber.js';
export { fileVersionStore } from './file-store.js';
