import { InitialSchema1764000000000 } from './1764000000000-InitialSchema';
import { RunCaches1764100000000 } from './1764100000000-RunCaches';
import { AnnouncedRelease1764200000000 } from './1764200000000-AnnouncedRelease';
import { Releases1764306000000 } from './1764306000000-Releases';
import { RunSnapshots1764313000000 } from './1764313000000-RunSnapshots';
import { RunNodes1764400000000 } from './1764400000000-RunNodes';
import { RunStatsCache1764500000000 } from './1764500000000-RunStatsCache';
import { PartitionedHistory1764600000000 } from './1764600000000-PartitionedHistory';
import { HotClusterState1764700000000 } from './1764700000000-HotClusterState';
import { HistoryWithoutRunForeignKey1764800000000 } from './1764800000000-HistoryWithoutRunForeignKey';
import { GzipListCache1764900000000 } from './1764900000000-GzipListCache';
import { BrotliListCache1765000000000 } from './1765000000000-BrotliListCache';
import { RunPlans1765100000000 } from './1765100000000-RunPlans';

/** Every migration, in order. Listed explicitly so the same list works from ts-jest and from dist/. */
export const MIGRATIONS = [
  InitialSchema1764000000000,
  RunCaches1764100000000,
  AnnouncedRelease1764200000000,
  Releases1764306000000,
  RunSnapshots1764313000000,
  RunNodes1764400000000,
  RunStatsCache1764500000000,
  PartitionedHistory1764600000000,
  HotClusterState1764700000000,
  HistoryWithoutRunForeignKey1764800000000,
  GzipListCache1764900000000,
  BrotliListCache1765000000000,
  RunPlans1765100000000,
];
