/** Hash routes (`#/captures/cap_…/view`): the server serves index.html for every path, the hash picks the page. */
import { useEffect, useState } from "react";

export type Route =
  | { page: "captures" }
  | { page: "capture"; captureId: string }
  | { page: "view"; captureId: string }
  | { page: "search" }
  | { page: "datasets" }
  | { page: "lineage"; of?: string }
  | { page: "audit" }
  | { page: "metrics" }
  | { page: "tokens" };

export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [first, second, third] = parts;
  if (first === "captures" && second)
    return third === "view" ? { page: "view", captureId: second } : { page: "capture", captureId: second };
  if (first === "lineage") return second ? { page: "lineage", of: second } : { page: "lineage" };
  switch (first) {
    case "search":
    case "datasets":
    case "audit":
    case "metrics":
    case "tokens":
      return { page: first };
    default:
      return { page: "captures" };
  }
}

export const href = {
  captures: "#/captures",
  capture: (id: string) => `#/captures/${encodeURIComponent(id)}`,
  view: (id: string) => `#/captures/${encodeURIComponent(id)}/view`,
  lineage: (of?: string) => (of ? `#/lineage/${encodeURIComponent(of)}` : "#/lineage"),
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
