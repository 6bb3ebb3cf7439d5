import { queueStoreContract } from '../queue-store.contract.js';
import { MemoryQueueStore } from './memory-queue-store.js';

queueStoreContract('memory store', () => new MemoryQueueStore());
