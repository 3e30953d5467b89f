/** The Strata SDK: a typed HTTP client for every route (`createClient`), usable from Node and browsers. */
export {
  type CallOptions,
  type ClientOptions,
  createClient,
  StrataApiError,
  type StrataClient,
  type UploadData,
} from "./client.ts";
export type { InputOf, ResponseOf, RouteId } from "../api/index.ts";
