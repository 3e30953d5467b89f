export * from "./calibration/index.ts";
export * from "./codec/index.ts";
export * from "./codec/definition.ts";
export * from "./mcap/index.ts";
export {
  bufferSource,
  type ByteSink,
  type FileSink,
  type FileSinkOptions,
  openFileSink,
  openFileSource,
} from "./node-source.ts";
export { detectFormat, openLog } from "./open.ts";
export { type LogLayout, readLogAttachments, readLogLayout } from "./layout.ts";
export {
  createRos1BagWriter,
  type Ros1BagWriteResult,
  type Ros1BagWriter,
  type Ros1BagWriterOptions,
  type Ros1Compression,
  type Ros1ConnectionSpec,
  type Ros1MessageSpec,
} from "./ros1/writer.ts";
export { openRos1Reader } from "./ros1/reader.ts";
export { openRos2Reader } from "./ros2/reader.ts";
export * from "./types.ts";
