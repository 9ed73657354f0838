/**
 * A fast acceptance test derived from a DTO's own class-validator decorators, so the client hot
 * path validates by the same rules as ApiValidationPipe without a second copy of them.
 *
 * Contract: `check(plain) === true` only if ApiValidationPipe (whitelist, forbidNonWhitelisted,
 * transform) would accept `plain` and hand the handler an object with the same fields and
 * values. `false` means "not known to be valid", never "invalid": the caller then lets the pipe
 * decide, which also gives the exact error message. So the check may be incomplete, never lax:
 *  - it runs only the two metadata kinds it understands, `@ValidateIf` conditions and custom
 *    (synchronous, non-`each`) constraints such as `@IsString`, calling class-validator's own
 *    constraint implementations; a DTO with any other kind (nested, `@IsDefined`, `@Allow`,
 *    async) gets a check that always answers false;
 *  - it answers false for a DTO that class-transformer would change (`@Type`, `@Transform`,
 *    `@Expose`, `@Exclude`, a strategy), and for any value that is not a string, number,
 *    boolean or null (class-transformer copies primitives unchanged, but rebuilds objects);
 *  - an own key that is not a decorated property (the whitelist) answers false.
 */
import { TransformationType } from 'class-transformer';
import { defaultMetadataStorage as transformerMetadata } from 'class-transformer/cjs/storage.js';
import { getMetadataStorage, type ValidationArguments, ValidationTypes } from 'class-validator';

type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];

export type DtoCheck = (plain: Readonly<Record<string, unknown>>) => boolean;

type Condition = (object: unknown, value: unknown) => boolean;

interface PropertyRule {
  readonly property: string;
  /** `@ValidateIf`: when one is false, the property's other constraints do not apply. */
  readonly conditions: readonly Condition[];
  readonly constraints: readonly {
    readonly validateIf: Condition | undefined;
    readonly validate: (value: unknown, args: ValidationArguments) => unknown;
    readonly constraints: unknown[];
  }[];
}

const NEVER: DtoCheck = () => false;

export function compileDtoCheck(dto: new () => object): DtoCheck {
  const storage = getMetadataStorage();
  // As ValidationPipe validates: no groups, `always` off.
  const byProperty = storage.groupByPropertyName(storage.getTargetValidationMetadatas(dto, '', false, false, undefined));
  if (transformerMetadata.getStrategy(dto) !== 'none') return NEVER;
  const rules: PropertyRule[] = [];
  for (const [property, metadatas] of Object.entries(byProperty)) {
    const rule = compileProperty(dto, property, metadatas);
    if (rule === null) return NEVER;
    rules.push(rule);
  }
  const allowed = new Set(rules.map((r) => r.property));
  const targetName = dto.name;

  return (plain) => {
    for (const key in plain) {
      if (!Object.hasOwn(plain, key)) continue;
      if (!allowed.has(key)) return false;
      const value = plain[key];
      if (value !== null && typeof value === 'object') return false;
    }
    for (const rule of rules) {
      const value = plain[rule.property];
      if (rule.conditions.some((condition) => !condition(plain, value))) continue;
      for (const c of rule.constraints) {
        if (c.validateIf !== undefined && !c.validateIf(plain, value)) continue;
        const args: ValidationArguments = { targetName, property: rule.property, object: plain, value, constraints: c.constraints };
        if (c.validate(value, args) !== true) return false;
      }
    }
    return true;
  };
}

function compileProperty(dto: new () => object, property: string, metadatas: readonly ValidationMetadata[]): PropertyRule | null {
  if (
    transformerMetadata.findTypeMetadata(dto, property) !== undefined ||
    transformerMetadata.findTransformMetadatas(dto, property, TransformationType.PLAIN_TO_CLASS).length > 0 ||
    transformerMetadata.findExposeMetadata(dto, property) !== undefined ||
    transformerMetadata.findExcludeMetadata(dto, property) !== undefined
  ) {
    return null;
  }
  const conditions: Condition[] = [];
  const constraints: PropertyRule['constraints'][number][] = [];
  for (const metadata of metadatas) {
    if (metadata.type === ValidationTypes.CONDITIONAL_VALIDATION) {
      conditions.push(metadata.constraints[0] as Condition);
      continue;
    }
    if (metadata.type !== ValidationTypes.CUSTOM_VALIDATION || metadata.each) return null;
    for (const constraint of getMetadataStorage().getTargetValidatorConstraints(metadata.constraintCls)) {
      if (constraint.async) return null;
      const instance = constraint.instance as { validate: (value: unknown, args: ValidationArguments) => unknown };
      constraints.push({
        validateIf: metadata.validateIf,
        validate: (value, args) => instance.validate(value, args),
        constraints: metadata.constraints,
      });
    }
  }
  return { property, conditions, constraints };
}
