export {
  ingestPath,
  recordFailedIngest,
  type IngestDeps,
  type IngestOptions,
  type IngestResult,
  type IngestedTopic,
} from "./ingest.ts";
export { StatsAccumulator, chooseBucketNs, type CaptureStats, type TopicStats } from "./stats.ts";
