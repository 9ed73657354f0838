/** Where storage reports what it repaired or skipped at startup. Nest's Logger fits this shape. */
export interface StorageLogger {
  log(message: string): void;
  warn(message: string): void;
}

/** Repairs must never go unreported, so the default writes to stderr. */
export const consoleStorageLogger: StorageLogger = {
  log: (message) => console.log(message),
  warn: (message) => console.warn(message),
};
