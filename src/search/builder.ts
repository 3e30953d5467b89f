/**
 * The lazy query builder: `scenes().where("speedMaxMps", ">", 10).tag("night").near("scene_123").limit(50)`.
 * Each call returns a new builder; nothing runs until it is iterated (`for await`), `toArray()`ed or
 * `explain()`ed. `plan()` gives the plain QueryPlan, the same one `parseQuery` gives for the text form.
 */
import type { ExplainResult } from "./explain.ts";
import { type GraphPattern, parseGraphPattern } from "./graph.ts";
import {
  type ComparisonOp,
  DEFAULT_K,
  type NearTarget,
  type PointM,
  type QueryPlan,
  type SpatialRegion,
  emptyPlan,
  formatQuery,
  validatePlan,
} from "./plan.ts";
import type { BaseFilterField, FilterField, SceneHit } from "./schema.ts";

/** What a bound builder runs on (a SceneIndex). */
export interface SceneQueryExecutor {
  query(plan: QueryPlan): AsyncIterable<SceneHit>;
  explain(plan: QueryPlan): Promise<ExplainResult>;
}

type NsField = "startNs" | "endNs";
type StringField = Exclude<BaseFilterField, NsField | "xM" | "yM" | "headingRad">;

/** The value type a field compares with. */
export type FieldValue<F extends FilterField> = F extends NsField
  ? bigint
  : F extends StringField
    ? string
    : number | null;

export interface NearOptions {
  /** How many nearest scenes; defaults to the limit, else 10. */
  k?: number;
  /** Search a bring-your-own-model vector set attached with `attachVectors`. */
  using?: string;
}

export type WithinRegion = { xM: number; yM: number; radiusM: number } | { polygonM: PointM[] };

interface BuilderState {
  plan: QueryPlan;
  /** `k` as given to near(); resolved against the limit when the plan is built. */
  nearK?: number;
}

function clonePlan(plan: QueryPlan): QueryPlan {
  return structuredClone(plan);
}

export class SceneQuery implements AsyncIterable<SceneHit> {
  readonly #state: BuilderState;
  readonly #executor: SceneQueryExecutor | undefined;

  constructor(executor?: SceneQueryExecutor, state: BuilderState = { plan: emptyPlan() }) {
    this.#executor = executor;
    this.#state = state;
  }

  #with(change: (state: BuilderState) => void): SceneQuery {
    const next: BuilderState = { plan: clonePlan(this.#state.plan) };
    if (this.#state.nearK !== undefined) next.nearK = this.#state.nearK;
    change(next);
    return new SceneQuery(this.#executor, next);
  }

  /** Compare a column: `where("speedMaxMps", ">", 10)`, `where("site", "=", "depot_a")`. */
  where<F extends FilterField>(field: F, op: ComparisonOp, value: FieldValue<F> | null): SceneQuery {
    return this.#with((s) => s.plan.predicates.push({ field, op, value }));
  }

  /** The scene carries every given tag. */
  tag(...tags: string[]): SceneQuery {
    return this.#with((s) => s.plan.tags.push(...tags));
  }

  /** The k scenes nearest to a scene (itself excluded) or a vector. */
  near(target: string | ArrayLike<number>, options: NearOptions = {}): SceneQuery {
    const nearTarget: NearTarget =
      typeof target === "string"
        ? { kind: "scene", sceneId: target }
        : { kind: "vector", vector: Array.from(target) };
    return this.#with((s) => {
      s.plan.near = { target: nearTarget, k: options.k ?? DEFAULT_K };
      if (options.using !== undefined) s.plan.near.embedder = options.using;
      if (options.k !== undefined) s.nearK = options.k;
      else delete s.nearK;
    });
  }

  /** The ego trajectory passes within `radiusM` of (xM, yM), or through a polygon (local ENU metres). */
  within(region: WithinRegion): SceneQuery {
    const spatial: SpatialRegion =
      "polygonM" in region
        ? { kind: "polygon", verticesM: region.polygonM.map((v) => ({ xM: v.xM, yM: v.yM })) }
        : { kind: "circle", xM: region.xM, yM: region.yM, radiusM: region.radiusM };
    return this.#with((s) => {
      s.plan.within = spatial;
    });
  }

  /** While inside the region, the ego's ENU yaw is `centerDeg ± toleranceDeg` (0 east, 90 north). */
  heading(centerDeg: number, toleranceDeg: number): SceneQuery {
    return this.#with((s) => {
      s.plan.heading = { centerDeg, toleranceDeg };
    });
  }

  /** A scene-graph pattern, e.g. `"pedestrian crossing_path ego within 10m"`. */
  graph(pattern: string | GraphPattern): SceneQuery {
    const parsed = typeof pattern === "string" ? parseGraphPattern(pattern) : { ...pattern };
    return this.#with((s) => s.plan.graph.push(parsed));
  }

  limit(count: number): SceneQuery {
    return this.#with((s) => {
      s.plan.limit = count;
    });
  }

  /** Also return scenes of quarantined captures. */
  includeQuarantined(include = true): SceneQuery {
    return this.#with((s) => {
      s.plan.includeQuarantined = include;
    });
  }

  /** The validated plain plan. */
  plan(): QueryPlan {
    const plan = clonePlan(this.#state.plan);
    if (plan.near) plan.near.k = this.#state.nearK ?? plan.limit ?? DEFAULT_K;
    return validatePlan(plan);
  }

  /** The canonical text form (what `strata search` takes). */
  toText(): string {
    return formatQuery(this.plan());
  }

  #bound(): SceneQueryExecutor {
    if (!this.#executor) {
      throw new TypeError(
        "this builder is not bound to an index: use index.scenes() or index.query(builder.plan())",
      );
    }
    return this.#executor;
  }

  [Symbol.asyncIterator](): AsyncIterator<SceneHit> {
    return this.#bound().query(this.plan())[Symbol.asyncIterator]();
  }

  async toArray(): Promise<SceneHit[]> {
    const out: SceneHit[] = [];
    for await (const hit of this) out.push(hit);
    return out;
  }

  explain(): Promise<ExplainResult> {
    return this.#bound().explain(this.plan());
  }
}

/** A new, empty builder; bind it to an index with `index.scenes()` to run it. */
export function scenes(executor?: SceneQueryExecutor): SceneQuery {
  return new SceneQuery(executor);
}
