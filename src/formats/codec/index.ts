export {
  commonSchemaText,
  findCommonSchemaText,
  normalizeTypeName,
  type RosProfile,
  ros1Md5,
  ros1Md5FromText,
} from "./common-schemas.ts";
export { type Decoder, decoderFor } from "./decode.ts";
export { type Encoder, encoderFor } from "./encode.ts";
