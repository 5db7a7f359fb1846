/**
 * The enterprise module's face: the backup archives' key holder and the backup access a request carries.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { type BackupAccess, backupArchiveKeyHolder } from './backup.service.ts';
