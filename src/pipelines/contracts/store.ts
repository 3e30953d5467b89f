/**
 * Contract versions and contract checks in the catalog (tables `contracts`, `contract_checks`).
 * A version is immutable: adding the same name and version again is a no-op when the contract is the
 * same and a conflict when it differs; a new version must be greater than the latest.
 */
import type { Catalog } from "../../catalog/index.ts";
import { StrataError, canonicalJson, newId, nowNs, sha256Hex } from "../../core/index.ts";
import { normalizeTypeName } from "../../formats/index.ts";
import { compareSemver } from "../ontology/semver.ts";
import { parseContract } from "./parse.ts";
import type {
  Contract,
  ContractBaseline,
  ContractCheck,
  ContractVersion,
  ContractViolation,
} from "./types.ts";

function toVersion(row: {
  name: string;
  version: string;
  document: string;
  source: string;
  sha256: string;
  baselines: string;
  created_at_ns: bigint;
  created_by: string;
}): ContractVersion {
  return {
    name: row.name,
    version: row.version,
    contract: JSON.parse(row.document) as Contract,
    source: row.source,
    sha256: row.sha256,
    baselines: JSON.parse(row.baselines) as Record<string, ContractBaseline>,
    createdAtNs: row.created_at_ns,
    createdBy: row.created_by,
  };
}

/** Every version of every contract, by name then version (ascending). */
export async function listContractVersions(catalog: Catalog, name?: string): Promise<ContractVersion[]> {
  let query = catalog.db.selectFrom("contracts").selectAll();
  if (name !== undefined) query = query.where("name", "=", name);
  const rows = await query.execute();
  return rows
    .map(toVersion)
    .sort((a, b) => a.name.localeCompare(b.name) || compareSemver(a.version, b.version));
}

/** The latest version of each contract. */
export async function listLatestContracts(catalog: Catalog): Promise<ContractVersion[]> {
  const latest = new Map<string, ContractVersion>();
  for (const v of await listContractVersions(catalog)) latest.set(v.name, v);
  return [...latest.values()];
}

/** One version (the latest when `version` is omitted); STRATA_E_NOT_FOUND when absent. */
export async function getContractVersion(
  catalog: Catalog,
  name: string,
  version?: string,
): Promise<ContractVersion> {
  const versions = await listContractVersions(catalog, name);
  const found =
    version === undefined ? versions[versions.length - 1] : versions.find((v) => v.version === version);
  if (!found)
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `no contract ${name}${version === undefined ? "" : `@${version}`}`,
      { contract: name },
      { hint: "List contracts with `strata contract list`." },
    );
  return found;
}

/** Latest versions whose appliesTo matches the capture's rig and site. */
export async function contractsForCapture(
  catalog: Catalog,
  capture: { rig: string | null; site: string | null },
): Promise<ContractVersion[]> {
  return (await listLatestContracts(catalog)).filter((v) => appliesTo(v.contract, capture));
}

export function appliesTo(contract: Contract, capture: { rig: string | null; site: string | null }): boolean {
  const scope = contract.appliesTo;
  if (!scope) return false;
  const matches = (allowed: string[] | undefined, value: string | null) =>
    allowed === undefined || allowed.includes("*") || (value !== null && allowed.includes(value));
  return matches(scope.rigs, capture.rig) && matches(scope.sites, capture.site);
}

/**
 * Adds a contract version from its YAML text. Records, per contracted topic with a type, the newest known
 * definition of that type as the schema baseline. Returns `created: false` for an identical re-add.
 */
export async function addContractVersion(
  catalog: Catalog,
  source: string,
  options: { actor: string; origin?: string },
): Promise<{ version: ContractVersion; created: boolean }> {
  const contract = parseContract(source, options.origin);
  const document = canonicalJson(contract);
  const sha256 = sha256Hex(document);
  return catalog.transaction(async (tx) => {
    const existing = await listContractVersions(tx, contract.name);
    const same = existing.find((v) => v.version === contract.version);
    if (same) {
      if (same.sha256 === sha256) return { version: same, created: false };
      throw new StrataError(
        "STRATA_E_CONFLICT",
        `contract ${contract.name}@${contract.version} already exists with different content`,
        { contract: contract.name },
        { hint: "Versions are immutable: bump the version to change the contract." },
      );
    }
    const latest = existing[existing.length - 1];
    if (latest && compareSemver(contract.version, latest.version) < 0)
      throw new StrataError(
        "STRATA_E_CONFLICT",
        `contract ${contract.name}@${contract.version} is older than the latest version ${latest.version}`,
        { contract: contract.name },
        { hint: "A new version must be greater than the latest one." },
      );
    const baselines = await schemaBaselines(tx, contract);
    const createdAtNs = nowNs();
    await tx.db
      .insertInto("contracts")
      .values({
        name: contract.name,
        version: contract.version,
        document,
        source,
        sha256,
        baselines: canonicalJson(baselines),
        created_at_ns: createdAtNs,
        created_by: options.actor,
      })
      .execute();
    await tx.appendAudit({
      actor: options.actor,
      action: "contract.add",
      target: `contract:${contract.name}@${contract.version}`,
      details: { sha256, previous: latest?.version ?? null, baselines: Object.keys(baselines).length },
    });
    return {
      version: {
        name: contract.name,
        version: contract.version,
        contract,
        source,
        sha256,
        baselines,
        createdAtNs,
        createdBy: options.actor,
      },
      created: true,
    };
  });
}

async function schemaBaselines(
  catalog: Catalog,
  contract: Contract,
): Promise<Record<string, ContractBaseline>> {
  const typed = (contract.topics ?? []).filter((t) => t.type !== undefined);
  if (typed.length === 0) return {};
  const rows = await catalog.db
    .selectFrom("schemas")
    .select(["schema_hash", "name", "encoding", "first_seen_ns"])
    .orderBy("first_seen_ns", "asc")
    .execute();
  const out: Record<string, ContractBaseline> = {};
  for (const t of typed) {
    const want = normalizeTypeName(t.type as string);
    let newest: (typeof rows)[number] | undefined;
    for (const r of rows) if (normalizeTypeName(r.name) === want) newest = r;
    if (newest)
      out[t.topic] = { type: newest.name, encoding: newest.encoding, schemaHash: newest.schema_hash };
  }
  return out;
}

export interface StoredContractCheck extends ContractCheck {
  checkId: string;
  captureId: string;
  runId: string | null;
  checkedAtNs: bigint;
}

export async function insertContractCheck(
  catalog: Catalog,
  row: { captureId: string; runId: string | null; check: ContractCheck; atNs?: bigint },
): Promise<StoredContractCheck> {
  const checkId = newId("cck");
  const checkedAtNs = row.atNs ?? nowNs();
  await catalog.db
    .insertInto("contract_checks")
    .values({
      check_id: checkId,
      capture_id: row.captureId,
      contract_name: row.check.contract,
      contract_version: row.check.version,
      run_id: row.runId,
      passed: row.check.passed ? 1 : 0,
      violations: canonicalJson({
        violations: row.check.violations,
        rulesChecked: row.check.rulesChecked,
        skipped: row.check.skipped,
      }),
      checked_at_ns: checkedAtNs,
    })
    .execute();
  return { ...row.check, checkId, captureId: row.captureId, runId: row.runId, checkedAtNs };
}

/** Newest first; by capture, or by contract (name, optionally version). */
export async function listContractChecks(
  catalog: Catalog,
  filter: { captureId?: string; contract?: string; version?: string; limit?: number },
): Promise<StoredContractCheck[]> {
  let query = catalog.db.selectFrom("contract_checks").selectAll();
  if (filter.captureId !== undefined) query = query.where("capture_id", "=", filter.captureId);
  if (filter.contract !== undefined) query = query.where("contract_name", "=", filter.contract);
  if (filter.version !== undefined) query = query.where("contract_version", "=", filter.version);
  const rows = await query
    .orderBy("checked_at_ns", "desc")
    .orderBy("check_id", "desc")
    .limit(filter.limit ?? 1000)
    .execute();
  return rows.map((r) => {
    const body = JSON.parse(r.violations) as {
      violations: ContractViolation[];
      rulesChecked: number;
      skipped: ContractCheck["skipped"];
    };
    return {
      checkId: r.check_id,
      captureId: r.capture_id,
      runId: r.run_id,
      checkedAtNs: r.checked_at_ns,
      contract: r.contract_name,
      version: r.contract_version,
      passed: r.passed === 1n,
      violations: body.violations,
      rulesChecked: body.rulesChecked,
      skipped: body.skipped,
    };
  });
}
