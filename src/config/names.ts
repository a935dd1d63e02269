/** The id rules of PROTOCOL §1: epic ids and role names become folder names, so nothing else passes. */
export const EPIC_ID = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const ROLE = EPIC_ID;
/** Names the bus never reads (PROTOCOL §2): dot-files, temporaries, editor swap and backup files. */
export const isIgnoredName = (name: string): boolean => name.startsWith(".") || name.endsWith(".tmp") || name.endsWith(".swp") || name.endsWith("~");
/** Files the daemon itself writes into inboxes; it never reads them back as messages. */
export const NOTICE_PREFIX = "notice-";
