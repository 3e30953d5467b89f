/**
 * Scenes in the catalog (table `scenes`, migration 005): the record datasets and lineage refer to. The
 * search index holds the same scenes for querying; `replaceCaptureScenes` rewrites a capture's rows in one
 * transaction.
 */
import type { Catalog, JsonObject } from "../../catalog/index.ts";
import { canonicalJson, nowNs, StrataError } from "../../core/index.ts";
import type { SceneFeatures } from "../../search/index.ts";
import type { WindowKind } from "./segment.ts";

export interface StoredScene {
  sceneId: string;
  captureId: string;
  startNs: bigint;
  endNs: bigint;
  kind: WindowKind;
  tags: string[];
  features: SceneFeatures;
  /** Where the ego motion came from and its frame; the events the window is aligned to. */
  meta: JsonObject;
  runId: string | null;
  createdAtNs: bigint;
}

async function query<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StrataError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new StrataError("STRATA_E_CATALOG", `${operation}: ${message}`, { operation }, { cause: error });
  }
}

/** Replaces every scene row of a capture. */
export async function replaceCaptureScenes(
  catalog: Catalog,
  captureId: string,
  scenes: ReadonlyArray<Omit<StoredScene, "createdAtNs">>,
): Promise<void> {
  const createdAtNs = nowNs();
  await query("scene rows write", () =>
    catalog.transaction(async (tx) => {
      await tx.db.deleteFrom("scenes").where("capture_id", "=", captureId).execute();
      for (let i = 0; i < scenes.length; i += 200) {
        const part = scenes.slice(i, i + 200);
        await tx.db
          .insertInto("scenes")
          .values(
            part.map((s) => ({
              scene_id: s.sceneId,
              capture_id: s.captureId,
              start_ns: s.startNs,
              end_ns: s.endNs,
              kind: s.kind,
              tags: canonicalJson(s.tags),
              features: canonicalJson({ ...s.meta, features: s.features }),
              run_id: s.runId,
              created_at_ns: createdAtNs,
            })),
          )
          .execute();
      }
    }),
  );
}

type Row = {
  scene_id: string;
  capture_id: string;
  start_ns: bigint | number;
  end_ns: bigint | number;
  kind: string;
  tags: string;
  features: string;
  run_id: string | null;
  created_at_ns: bigint | number;
};

function record(row: Row): StoredScene {
  const body = JSON.parse(row.features) as JsonObject & { features: SceneFeatures };
  const { features, ...meta } = body;
  return {
    sceneId: row.scene_id,
    captureId: row.capture_id,
    startNs: BigInt(row.start_ns),
    endNs: BigInt(row.end_ns),
    kind: row.kind === "event" ? "event" : "fixed",
    tags: JSON.parse(row.tags) as string[],
    features,
    meta,
    runId: row.run_id,
    createdAtNs: BigInt(row.created_at_ns),
  };
}

/** A capture's scenes in time order. */
export async function listCaptureScenes(catalog: Catalog, captureId: string): Promise<StoredScene[]> {
  const rows = await query("scene rows list", () =>
    catalog.db
      .selectFrom("scenes")
      .selectAll()
      .where("capture_id", "=", captureId)
      .orderBy("start_ns")
      .orderBy("end_ns")
      .orderBy("scene_id")
      .execute(),
  );
  return rows.map(record);
}

/** Scenes by id (missing ids are left out). */
export async function getScenes(catalog: Catalog, sceneIds: readonly string[]): Promise<StoredScene[]> {
  const out: StoredScene[] = [];
  for (let i = 0; i < sceneIds.length; i += 500) {
    const part = sceneIds.slice(i, i + 500);
    const rows = await query("scene rows get", () =>
      catalog.db.selectFrom("scenes").selectAll().where("scene_id", "in", part).execute(),
    );
    out.push(...rows.map(record));
  }
  return out;
}

/** Ids of the captures that have scenes. */
export async function capturesWithScenes(catalog: Catalog): Promise<string[]> {
  const rows = await query("scene captures", () =>
    catalog.db.selectFrom("scenes").select("capture_id").distinct().orderBy("capture_id").execute(),
  );
  return rows.map((r) => r.capture_id);
}
