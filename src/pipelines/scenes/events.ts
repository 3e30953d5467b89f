/**
 * Events detected in a capture from the ego's motion and the perceived agents (never from any ground truth):
 *
 *   hard_brake   longitudinal acceleration below `hardBrakeMps2` for at least 0.2 s
 *   stop         speed below `stopSpeedMps` for at least `stopMinSecs`
 *   near_miss    an agent in the ego's corridor closer than `nearMissGapM`, or TTC below `nearMissTtcSecs`
 *   cut_in       a vehicle ahead moves itself (≥ 1.5 m in the lane frame) from the next lane into the ego's lane
 *   crossing     an agent ahead moves across the ego's lane (mostly sideways, into or through the corridor)
 *   overtake     the ego passes an agent travelling the same way (from ahead to behind)
 *   u_turn       one continuous turn of at least `uTurnMinDeg`; smaller ones of at least `turnMinDeg` are `turn`
 *
 * Each event is a time span; events about one agent carry its track and class.
 */
import { closingSpeedMps, footprintGapM, inCorridor, timeToCollisionS, agentHalfExtents } from "./agents.ts";
import { type EgoSeries, sampleTimeNs } from "./ego.ts";
import type { ResolvedSceneOptions } from "./options.ts";
import type { AgentTrack, PlacedObservation } from "./tracks.ts";

export const SCENE_EVENT_KINDS = [
  "hard_brake",
  "stop",
  "near_miss",
  "cut_in",
  "crossing",
  "overtake",
  "u_turn",
  "turn",
] as const;
export type SceneEventKind = (typeof SCENE_EVENT_KINDS)[number];

export interface SceneEvent {
  kind: SceneEventKind;
  startNs: bigint;
  endNs: bigint;
  /** The agent involved (`class/trackId`), when there is one. */
  nodeId?: string;
  agentClass?: string;
  detail: Record<string, number | string>;
}

/** Runs of consecutive indices where `test` holds, as [first, last]. */
export function runsOf(length: number, test: (i: number) => boolean): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i < length; i++) {
    if (test(i)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      out.push([start, i - 1]);
      start = -1;
    }
  }
  if (start >= 0) out.push([start, length - 1]);
  return out;
}

/** Joins runs separated by at most `maxGap` samples. */
export function mergeRuns(runs: Array<[number, number]>, maxGap: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const run of runs) {
    const last = out[out.length - 1];
    if (last && run[0] - last[1] - 1 <= maxGap) last[1] = Math.max(last[1], run[1]);
    else out.push([run[0], run[1]]);
  }
  return out;
}

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

function egoEvents(ego: EgoSeries, o: ResolvedSceneOptions): SceneEvent[] {
  const periodSecs = Number(ego.periodNs) / 1e9;
  const samples = (secs: number) => Math.max(1, Math.round(secs / periodSecs));
  const at = (i: number) => sampleTimeNs(ego, i);
  const events: SceneEvent[] = [];

  const braking = mergeRuns(
    runsOf(ego.length, (i) => (ego.accelMps2[i] as number) < o.hardBrakeMps2),
    samples(0.5),
  ).filter(([a, b]) => b - a + 1 >= samples(0.2));
  for (const [a, b] of braking) {
    let minAccel = 0;
    for (let i = a; i <= b; i++) minAccel = Math.min(minAccel, ego.accelMps2[i] as number);
    events.push({
      kind: "hard_brake",
      startNs: at(a),
      endNs: at(b),
      detail: { minAccelMps2: round(minAccel), fromSpeedMps: round(ego.speedMps[a] as number, 2) },
    });
  }

  for (const [a, b] of stopRuns(ego, o)) {
    events.push({
      kind: "stop",
      startNs: at(a),
      endNs: at(b),
      detail: { durationSecs: round((b - a) * periodSecs, 2) },
    });
  }

  // Turns: runs of yaw rate above 0.08 rad/s (gaps under 1.5 s joined), judged by their total yaw change.
  const turning = mergeRuns(
    runsOf(ego.length, (i) => Math.abs(ego.yawRateRadps[i] as number) > 0.08),
    samples(1.5),
  );
  for (const [a, b] of turning) {
    const changeDeg = (((ego.yawRad[b] as number) - (ego.yawRad[a] as number)) * 180) / Math.PI;
    const magnitude = Math.abs(changeDeg);
    if (magnitude < o.turnMinDeg) continue;
    events.push({
      kind: magnitude >= o.uTurnMinDeg ? "u_turn" : "turn",
      startNs: at(a),
      endNs: at(b),
      detail: { yawChangeDeg: round(changeDeg, 1), direction: changeDeg > 0 ? "left" : "right" },
    });
  }
  return events;
}

/** Index runs where the ego stands still long enough to count as a stop. */
export function stopRuns(
  ego: EgoSeries,
  o: Pick<ResolvedSceneOptions, "stopSpeedMps" | "stopMinSecs">,
): Array<[number, number]> {
  const periodSecs = Number(ego.periodNs) / 1e9;
  return runsOf(ego.length, (i) => Math.abs(ego.speedMps[i] as number) < o.stopSpeedMps).filter(
    ([a, b]) => (b - a) * periodSecs >= o.stopMinSecs - 1e-9,
  );
}

/** Spans of a track's observations where `test` holds; neighbours closer than `maxGapNs` are joined. */
function observationSpans(
  track: AgentTrack,
  test: (o: PlacedObservation, index: number) => boolean,
  maxGapNs: bigint,
): Array<[PlacedObservation, PlacedObservation]> {
  const out: Array<[PlacedObservation, PlacedObservation]> = [];
  let first: PlacedObservation | undefined;
  let last: PlacedObservation | undefined;
  track.observations.forEach((obs, index) => {
    if (!test(obs, index)) return;
    if (first && last && obs.stampNs - last.stampNs <= maxGapNs) {
      last = obs;
      return;
    }
    if (first && last) out.push([first, last]);
    first = obs;
    last = obs;
  });
  if (first && last) out.push([first, last]);
  return out;
}

function agentEvents(tracks: readonly AgentTrack[], o: ResolvedSceneOptions): SceneEvent[] {
  const events: SceneEvent[] = [];
  const joinNs = 350_000_000n; // tolerate a missed perception frame at 10 Hz
  const front = o.footprint.frontM;
  const rear = o.footprint.rearM;
  for (const track of tracks) {
    const about = { nodeId: track.nodeId, agentClass: track.agentClass };

    // Near miss.
    const nearMiss = (obs: PlacedObservation): boolean => {
      const gapM = footprintGapM(obs, o.footprint);
      if (gapM < o.nearMissGapM && inCorridor(obs, o.corridorHalfWidthM)) return true;
      const ttc = timeToCollisionS(obs, obs.egoSpeedMps, o.footprint, o.ttcHorizonSecs);
      return ttc !== undefined && ttc < o.nearMissTtcSecs && closingSpeedMps(obs, obs.egoSpeedMps) > 0.5;
    };
    for (const [a, b] of observationSpans(track, nearMiss, joinNs)) {
      let minGapM = Number.POSITIVE_INFINITY;
      for (const obs of track.observations) {
        if (obs.stampNs >= a.stampNs && obs.stampNs <= b.stampNs)
          minGapM = Math.min(minGapM, footprintGapM(obs, o.footprint));
      }
      events.push({
        kind: "near_miss",
        startNs: a.stampNs,
        endNs: b.stampNs,
        ...about,
        detail: { minGapM: round(minGapM, 2) },
      });
    }

    // Crossing: ahead, moving mostly sideways in the lane frame, in the corridor or reaching it within 3 s.
    const crossing = (obs: PlacedObservation): boolean => {
      if (!Number.isFinite(obs.vLatMps) || !Number.isFinite(obs.vLongMps)) return false;
      if (obs.xM < rear || obs.xM > front + 30) return false;
      if (Math.abs(obs.vLatMps) < 0.5 || Math.abs(obs.vLatMps) < Math.abs(obs.vLongMps)) return false;
      const { halfYM } = agentHalfExtents(obs);
      const outsideM = Math.abs(obs.laneLatM) - halfYM - o.corridorHalfWidthM;
      if (outsideM <= 0) return true;
      const towards = obs.laneLatM * obs.vLatMps < 0;
      return towards && outsideM / Math.abs(obs.vLatMps) <= 3;
    };
    for (const [a, b] of observationSpans(track, crossing, joinNs)) {
      // Only spans in which the agent actually entered the corridor.
      const entered = track.observations.some(
        (obs) =>
          obs.stampNs >= a.stampNs &&
          obs.stampNs <= b.stampNs &&
          Math.abs(obs.laneLatM) - agentHalfExtents(obs).halfYM <= o.corridorHalfWidthM,
      );
      if (!entered) continue;
      events.push({
        kind: "crossing",
        startNs: a.stampNs,
        endNs: b.stampNs,
        ...about,
        detail: { agentClass: track.agentClass },
      });
    }

    if (track.agentClass === "car" || track.agentClass === "cyclist") {
      // Cut-in: from |lateral| ≥ 2.5 m to ≤ 1.2 m within 6 s, ahead of the ego, having itself moved at least
      // 1.5 m sideways towards the ego's lane (lane frame; the ego's own lane change does not count).
      const obs = track.observations;
      let lastOutside: PlacedObservation | undefined;
      for (const ob of obs) {
        const ahead = ob.xM - agentHalfExtents(ob).halfXM > front && ob.xM < front + 40;
        const sameWay = Number.isFinite(ob.vLongMps) && ob.vLongMps > 1;
        if (!ahead || !sameWay) {
          lastOutside = undefined;
          continue;
        }
        if (Math.abs(ob.laneLatM) >= 2.5) {
          lastOutside = ob;
          continue;
        }
        if (!lastOutside || ob.laneLatM * lastOutside.laneLatM < 0 || Math.abs(ob.laneLatM) > 1.2) continue;
        if (ob.stampNs - lastOutside.stampNs > 6_000_000_000n) {
          lastOutside = undefined;
          continue;
        }
        const ownShiftM =
          -Math.sin(ob.laneYawRad) * (ob.worldXM - lastOutside.worldXM) +
          Math.cos(ob.laneYawRad) * (ob.worldYM - lastOutside.worldYM);
        if (ownShiftM * lastOutside.laneLatM < 0 && Math.abs(ownShiftM) >= 1.5) {
          events.push({
            kind: "cut_in",
            startNs: lastOutside.stampNs,
            endNs: ob.stampNs,
            ...about,
            detail: {
              gapAheadM: round(ob.xM - front, 2),
              fromSide: lastOutside.laneLatM > 0 ? "left" : "right",
              lateralShiftM: round(Math.abs(ownShiftM), 2),
            },
          });
          lastOutside = undefined;
        }
      }

      // Overtake: the ego passes it while both travel the same way.
      let aheadObs: PlacedObservation | undefined;
      for (const ob of obs) {
        const sameWay = Number.isFinite(ob.vLongMps) && ob.vLongMps > 0.5 && ob.egoSpeedMps > ob.vLongMps;
        if (!sameWay || Math.abs(ob.laneLatM) > 8) {
          aheadObs = undefined;
          continue;
        }
        if (ob.laneLongM >= front + 10) aheadObs = ob;
        else if (aheadObs && ob.laneLongM <= rear - 3) {
          events.push({
            kind: "overtake",
            startNs: aheadObs.stampNs,
            endNs: ob.stampNs,
            ...about,
            detail: { agentSpeedMps: round(ob.vLongMps, 2) },
          });
          aheadObs = undefined;
        }
      }
    }
  }
  return events;
}

/** Every event of a capture, in start order. */
export function detectEvents(
  ego: EgoSeries,
  tracks: readonly AgentTrack[],
  options: ResolvedSceneOptions,
): SceneEvent[] {
  const events = [...egoEvents(ego, options), ...agentEvents(tracks, options)];
  events.sort((a, b) =>
    a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : a.kind.localeCompare(b.kind),
  );
  return events;
}
