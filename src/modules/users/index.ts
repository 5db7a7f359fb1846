/**
 * The users module's face: the user entity and its input shape.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { User } from './user.entity.ts';
export { userInputShape } from './user.service.ts';
