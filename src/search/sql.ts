/** Plan → LanceDB filter SQL. Field names come from the declared schema (validated), values are escaped. */
import type { FieldPredicate, QueryPlan } from "./plan.ts";

export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function sqlNumber(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  return String(value);
}

export function sqlPredicate(p: FieldPredicate): string {
  if (p.value === null) return `${p.field} IS ${p.op === "=" ? "" : "NOT "}NULL`;
  const op = p.op === "!=" ? "<>" : p.op;
  let literal: string;
  if (typeof p.value === "string") literal = sqlString(p.value);
  else if (typeof p.value === "bigint") literal = p.value.toString();
  else if (typeof p.value === "boolean") literal = p.value ? "true" : "false";
  else literal = sqlNumber(p.value);
  return `${p.field} ${op} ${literal}`;
}

export function sqlInList(column: string, values: Iterable<string>): string {
  const items: string[] = [];
  for (const v of values) items.push(sqlString(v));
  return items.length === 0 ? "false" : `${column} IN (${items.join(",")})`;
}

/** The scenes-table filter of a plan's metadata predicates, tags and quarantine rule. */
export function sqlSceneFilter(plan: QueryPlan, extra: readonly string[] = []): string | undefined {
  const parts = plan.predicates.map(sqlPredicate);
  if (plan.tags.length > 0) parts.push(`array_has_all(tags, [${plan.tags.map(sqlString).join(",")}])`);
  if (!plan.includeQuarantined) parts.push("quarantined = false");
  parts.push(...extra);
  return parts.length === 0 ? undefined : parts.map((p) => (parts.length > 1 ? `(${p})` : p)).join(" AND ");
}

/** Shortens long IN lists for printing. */
export function abbreviateSql(sql: string): string {
  return sql.replace(/IN \(('(?:[^']|'')*'(?:,'(?:[^']|'')*')*)\)/g, (whole, list: string) => {
    const count = list.split("','").length;
    return count > 5 ? `IN (… ${count} ids)` : whole;
  });
}
