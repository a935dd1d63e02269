/** The id rules of PROTOCOL §1: epic ids and role names become folder names, so nothing else passes. */
export const EPIC_ID = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const ROLE = EPIC_ID;
const TEMP_SUFFIX = /(\.tmp|\.temp|\.part|\.swp|\.swo|\.swx|~)$/i;
/**
 * Names the bus never reads and never reports (PROTOCOL §2): dot-files, and the temporaries and
 * backups editors and tools leave while they write — `.tmp`/`.temp`/`.part`, vim's `.swp`/`.swo`/
 * `.swx`, `name~` and its write probe `4913` (any all-digit name), `sed -i`'s `sedXXXXXX`, Emacs'
 * `#name#`, JetBrains' `name___jb_tmp___`.
 */
export const isIgnoredName = (name: string): boolean =>
  name.startsWith(".") || TEMP_SUFFIX.test(name) || /^\d+$/.test(name) || /^sed[A-Za-z0-9]{6}$/.test(name) || /^#.*#$/.test(name) || /___jb_(tmp|old|bak)___$/.test(name);
/** Files the daemon itself writes into inboxes; it never reads them back as messages. */
export const NOTICE_PREFIX = "notice-";
