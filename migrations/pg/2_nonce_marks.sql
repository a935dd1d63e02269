-- consensus on PostgreSQL, schema version 2: launch-token nonces in the ledger of used ids.
-- A launch token's signature is used once (issue 15): the entry that accepted a signed input carries
-- its nonce (details.proof.nonce), and the view counts it as used under the id nonce/<nonce> (log/replay.ts
-- nonceId). Version 1 stored only message ids in marks, so a daemon starting from a snapshot did not
-- know the nonces used before it: each is recorded here from the entries that used it.
INSERT INTO marks (kind, mark, seq)
SELECT 'm', 'nonce/' || (line::jsonb #>> '{details,proof,nonce}'), seq
FROM entries
WHERE decision IN ('message_accepted', 'artifact_accepted')
  AND line::jsonb #>> '{details,proof,nonce}' IS NOT NULL
ON CONFLICT (kind, mark) DO NOTHING;
