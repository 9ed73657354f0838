/**
 * class-transformer keeps its decorator metadata in a module it does not declare types for.
 * Only what dto-check.ts reads is declared (class-transformer 0.5).
 */
declare module 'class-transformer/cjs/storage.js' {
  interface TransformerMetadataStorage {
    findTypeMetadata(target: object, propertyName: string): unknown;
    findTransformMetadatas(target: object, propertyName: string, transformationType: number): readonly unknown[];
    findExposeMetadata(target: object, propertyName: string): unknown;
    findExcludeMetadata(target: object, propertyName: string): unknown;
    getStrategy(target: object): string;
  }
  export const defaultMetadataStorage: TransformerMetadataStorage;
}
