/** What the decoded-message probes see of one message. */
export interface ScanMessage {
  topic: string;
  /** Schema name normalised to `pkg/Type`. */
  type: string;
  logTimeNs: bigint;
  data: Uint8Array;
  /** undefined when no decoder exists for the channel. */
  decoded: unknown;
}
