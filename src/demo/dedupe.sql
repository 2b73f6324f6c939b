-- src/demo/dedupe.sql: the demo data hook of src/dedupe.sql and src/merge.sql (extension
-- crm_demo): known duplicates planted among the generated contacts, and the pairs found.

-- The planted duplicates: which contact was turned into a copy of which, and how it was changed.
-- A member of crm_demo (dropped with it), in a schema of its own (schema crm holds only the CRM's
-- tables, each under row-level security); the demo report measures the pairs found against it.
CREATE SCHEMA crm_demo;
COMMENT ON SCHEMA crm_demo IS 'Demo data that is not CRM data: what the demo generator planted (extension crm_demo).';
CREATE TABLE crm_demo.planted_duplicates (
    contact_id    bigint PRIMARY KEY,
    original_id   bigint NOT NULL,
    perturbation  text NOT NULL
);
COMMENT ON TABLE crm_demo.planted_duplicates IS
    'Demo data: the contacts crm.generate_demo_dedupe turned into perturbed copies of others (the planted duplicate pairs), with the change made.';
SELECT pg_catalog.pg_extension_config_dump('crm_demo.planted_duplicates', '');

-- Demo hook (called by crm.generate_demo_data, as replica: the matching trigger does not fire).
-- About 3% of the contacts (not the first 20, each copying a contact that is not itself a copy)
-- become perturbed copies of another contact: its name, e-mail, phone and country, with
-- one change drawn from: a typo in the last name (two letters swapped), first and last name
-- swapped, a nickname, the phone or the e-mail missing, the e-mail changed (the same local part
-- at another domain). The copy keeps its own id, owner, account, history and orders (a second
-- record of the same person, entered by another rep; its account stays, so that a rep's account
-- and its contacts keep one owner), so the contact count stays `customers`; its e-mail stays unique (the
-- contacts' unique index): a kept address gets the copy's id appended to its local part. Then
-- every pair is scored (crm.refresh_duplicate_candidates) under the installed model. The demo
-- does not merge: the report measures the pairs found against the planted ones, which a merge
-- would remove, and the other sections would change with the quality of the matching. Random
-- keys: tag 140 (who is copied and how), 141 (the original).
CREATE FUNCTION @extschema@.generate_demo_dedupe(seed integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM crm_demo.planted_duplicates;  -- a previous run's, its contacts gone
    SELECT max(contact_id) INTO n FROM @extschema@.contacts;
    IF n IS NULL OR n < 40 THEN
        RETURN;
    END IF;
    INSERT INTO crm_demo.planted_duplicates (contact_id, original_id, perturbation)
    SELECT c.contact_id, o.contact_id,
           (ARRAY['typo', 'swapped', 'nickname', 'no phone', 'no email', 'changed email'])
               [1 + floor(6 * @extschema@.demo_uniform(@extschema@.demo_key(seed, 140, c.contact_id), 2))::integer]
    FROM @extschema@.contacts c
    CROSS JOIN LATERAL (
        SELECT 1 + floor((n - 1) * @extschema@.demo_uniform(@extschema@.demo_key(seed, 141, c.contact_id), 1))::bigint AS id) pick
    JOIN @extschema@.contacts o ON o.contact_id = pick.id
    WHERE c.contact_id > 20 AND o.contact_id <> c.contact_id
      AND @extschema@.demo_uniform(@extschema@.demo_key(seed, 140, c.contact_id), 1) < 0.03
      -- the original is no copy itself
      AND @extschema@.demo_uniform(@extschema@.demo_key(seed, 140, o.contact_id), 1) >= 0.03;
    -- (an original copied twice gives two planted pairs with it; the two copies are a pair too,
    -- counted as planted by the report)

    UPDATE @extschema@.contacts c
    SET first_name = CASE p.perturbation
                         WHEN 'swapped' THEN o.last_name
                         WHEN 'nickname' THEN coalesce(
                             (SELECT x.nick FROM (VALUES ('Anna', 'Ann'), ('Ben', 'Benny'), ('David', 'Dave'), ('Elena', 'Lena'),
                                                         ('Henry', 'Hank'), ('Jack', 'Jackie'), ('Julia', 'Jules'), ('Gabriel', 'Gabe'),
                                                         ('Will', 'Bill'), ('Karin', 'Kari'), ('Marco', 'Marc'), ('Olga', 'Olya'),
                                                         ('Fatima', 'Fati'), ('Priya', 'Pri'), ('Oscar', 'Ozzy'), ('Emil', 'Emi'))
                                                 x(name, nick) WHERE x.name = o.first_name),
                             left(o.first_name, greatest(length(o.first_name) - 1, 2)))
                         ELSE o.first_name END,
        last_name = CASE p.perturbation
                        WHEN 'swapped' THEN o.first_name
                        WHEN 'typo' THEN left(o.last_name, 1) || substr(o.last_name, 3, 1) || substr(o.last_name, 2, 1)
                                         || substr(o.last_name, 4)
                        ELSE o.last_name END,
        email = CASE p.perturbation
                    WHEN 'no email' THEN NULL
                    WHEN 'changed email' THEN split_part(o.email, '@', 1) || '@mail-' || c.contact_id || '.example.net'
                    ELSE split_part(o.email, '@', 1) || '.' || c.contact_id || '@' || split_part(o.email, '@', 2) END,
        phone = CASE WHEN p.perturbation = 'no phone' THEN NULL ELSE o.phone END,
        country = o.country
    FROM crm_demo.planted_duplicates p
    JOIN @extschema@.contacts o ON o.contact_id = p.original_id
    WHERE c.contact_id = p.contact_id;

    PERFORM @extschema@.refresh_duplicate_candidates();
END
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_dedupe(integer) IS
    'Demo hook: turns about 3% of the generated contacts into perturbed copies of others (typo, swapped names, nickname, missing phone or e-mail, changed e-mail), recorded in crm_demo.planted_duplicates, then scores every pair (crm.refresh_duplicate_candidates).';
REVOKE EXECUTE ON FUNCTION @extschema@.generate_demo_dedupe(integer) FROM PUBLIC;
