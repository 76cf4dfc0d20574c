// GraphiQL's Docs pane is where client developers read the API: every type, field, argument,
// input field and enum value of schema.graphql has a description. Walks the whole schema, so a
// new field without one fails here (add `description:` beside it in src/schema/*.ts).
import { readFileSync } from 'node:fs';
import { buildSchema, isEnumType, isInputObjectType, isInterfaceType, isObjectType, isSpecifiedScalarType, type GraphQLSchema } from 'graphql';
import { expect, it } from 'vitest';

/** Schema coordinates (`Type`, `Type.field`, `Type.field(arg:)`, `Enum.VALUE`) without a description. */
function undescribed(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  const check = (coordinate: string, description: string | null | undefined) => {
    if (!description?.trim()) missing.push(coordinate);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || isSpecifiedScalarType(type)) continue;
    check(type.name, type.description);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        check(`${type.name}.${field.name}`, field.description);
        for (const arg of field.args) check(`${type.name}.${field.name}(${arg.name}:)`, arg.description);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) check(`${type.name}.${field.name}`, field.description);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) check(`${type.name}.${value.name}`, value.description);
    }
  }
  return missing.sort();
}

it('every type, field, argument, input field and enum value of schema.graphql has a description', () => {
  const schema = buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
  expect(undescribed(schema)).toEqual([]);
});

it('the walk finds each kind of member without a description', () => {
  const schema = buildSchema(`
    "Described." type Query { "Described." a(x: Int, "Described." y: Int): E! b: U }
    enum E { "Described." ONE TWO }
    union U = Query
    "Described." input I { "Described." p: Int q: Int }
    "Described." type Mutation { "Described." m(i: I): Int }
    scalar DateTime
  `);
  expect(undescribed(schema)).toEqual(['DateTime', 'E', 'E.TWO', 'I.q', 'Mutation.m(i:)', 'Query.a(x:)', 'Query.b', 'U']);
});
