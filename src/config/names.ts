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
/**
 * The keyed part of a notice's fallback name (trust/notice-name.ts): `.<16 hex>` before `.yaml`, as in
 * `notice-00000005-EP-001-stage_entered.3f9a0c1b2d4e5f60.yaml`. Epic ids and subjects hold no ".", so
 * the part cannot be confused with either.
 */
const NOTICE_KEYED_PART = /\.[0-9a-f]{16}(?=\.yaml$)/;
/**
 * The name a notice file stands for: `name` itself, or, for a keyed fallback name, the regular name
 * it was derived from (the keyed part removed). Whether the keyed part is the daemon's is checked
 * apart (keyedNoticeNameOk, with the daemon key). Pure.
 */
export const noticeBaseName = (name: string): string => name.replace(NOTICE_KEYED_PART, "");
/** Whether `name` carries a keyed part (a fallback name). Pure. */
export const isKeyedNoticeName = (name: string): boolean => name.startsWith(NOTICE_PREFIX) && NOTICE_KEYED_PART.test(name);
