/**
 * The search front door's entry to the embedded LanceDB index. LanceDB and Apache Arrow are native,
 * heavy modules: they load here on first use, so commands that never search start fast.
 */
import path from "node:path";
import type { SceneIndex, SceneIndexOptions } from "./lance-scene-index.ts";

export async function openSceneIndex(options: SceneIndexOptions): Promise<SceneIndex> {
  const lance = await import("./lance-scene-index.ts");
  return await lance.openSceneIndex(options);
}

/** Where an embedded Strata home keeps its LanceDB tables. */
export function searchDir(strataHome: string): string {
  return path.join(strataHome, "search");
}
