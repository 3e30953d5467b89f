export {
  type McapLogReader,
  type McapReaderOptions,
  type McapReadMode,
  openMcapReader,
  recordStream,
} from "./reader.ts";
export {
  createMcapFileWriter,
  createMcapWriter,
  DEFAULT_CHUNK_SIZE,
  type McapAttachmentInput,
  type McapChannelInput,
  type McapCompression,
  type McapFileWriter,
  type McapLogWriter,
  type McapMessageInput,
  type McapMetadataInput,
  type McapSchemaInput,
  type McapWriterOptions,
} from "./writer.ts";
