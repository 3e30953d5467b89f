import { type ErrorContext, StrataError } from "../core/index.ts";

const UNIQUE = new Set(["23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"]);
const FOREIGN_KEY = new Set(["23503", "SQLITE_CONSTRAINT_FOREIGNKEY"]);

/** Database failures as catalogue errors: constraint violations are conflicts, the rest STRATA_E_CATALOG. */
export function catalogError(error: unknown, operation: string, context: ErrorContext = {}): StrataError {
  if (error instanceof StrataError) return error;
  const raw = (error ?? {}) as { code?: unknown; message?: unknown; constraint?: unknown; detail?: unknown };
  const code = typeof raw.code === "string" ? raw.code : undefined;
  const message = typeof raw.message === "string" ? raw.message : String(error);
  const where: ErrorContext = { operation, ...context };
  if (code !== undefined) where.dbCode = code;
  if (typeof raw.constraint === "string") where.constraint = raw.constraint;
  if (code !== undefined && UNIQUE.has(code)) {
    return new StrataError("STRATA_E_CONFLICT", `${operation}: already exists (${message})`, where, {
      cause: error,
    });
  }
  if (code !== undefined && FOREIGN_KEY.has(code)) {
    return new StrataError(
      "STRATA_E_CONFLICT",
      `${operation}: refers to a row that does not exist (${message})`,
      where,
      {
        cause: error,
      },
    );
  }
  return new StrataError("STRATA_E_CATALOG", `${operation}: ${message}`, where, { cause: error });
}
