-- src/calendars.sql: business calendars. Weekly opening hours (several intervals a day), holidays
-- (dated or recurring yearly), a time zone or 24/7; crm.business_add and crm.business_time walk
-- them in C (src/calendars.c), exact across daylight-saving changes. docs/calendars.md.

CREATE TABLE @extschema@.business_calendars (
    calendar_id  bigserial PRIMARY KEY,
    name         text NOT NULL CONSTRAINT business_calendars_name_key UNIQUE
                 CONSTRAINT business_calendars_name_not_blank CHECK (btrim(name) <> ''),
    time_zone    text NOT NULL DEFAULT 'UTC',
    always_open  boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER business_calendars_touch_updated_at BEFORE UPDATE ON @extschema@.business_calendars
    FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at();
COMMENT ON TABLE @extschema@.business_calendars IS
    'Business calendars: a time zone (a name of pg_timezone_names, checked when written) in which the opening hours of crm.business_hours and the holidays of crm.business_holidays are read; always_open: open 24/7 (hours and holidays are then ignored).';

CREATE TABLE @extschema@.business_hours (
    calendar_id  bigint NOT NULL CONSTRAINT business_hours_calendar_fkey
                 REFERENCES @extschema@.business_calendars ON DELETE CASCADE,
    weekday      smallint NOT NULL CONSTRAINT business_hours_weekday_iso CHECK (weekday BETWEEN 1 AND 7),
    opens        time NOT NULL,
    closes       time NOT NULL,
    CONSTRAINT business_hours_pkey PRIMARY KEY (calendar_id, weekday, opens),
    CONSTRAINT business_hours_opens_before_closes CHECK (opens < closes)
);
COMMENT ON TABLE @extschema@.business_hours IS
    'Weekly opening hours of a business calendar: on ISO weekday weekday (1 Monday ... 7 Sunday), open from local time opens up to (not including) closes; closes may be 24:00. Several rows a day (a lunch break); intervals of one day must not overlap (touching is fine).';

CREATE TABLE @extschema@.business_holidays (
    calendar_id       bigint NOT NULL CONSTRAINT business_holidays_calendar_fkey
                      REFERENCES @extschema@.business_calendars ON DELETE CASCADE,
    day               date NOT NULL CONSTRAINT business_holidays_day_finite CHECK (isfinite(day)),
    recurring_yearly  boolean NOT NULL DEFAULT false,
    name              text,
    CONSTRAINT business_holidays_pkey PRIMARY KEY (calendar_id, day)
);
COMMENT ON TABLE @extschema@.business_holidays IS
    'Closed days of a business calendar (local dates): day itself, or, when recurring_yearly, the same month and day of every year (a recurring 29 February only in leap years).';

-- Checks on write: the time zone is one PostgreSQL knows; a day's opening intervals do not overlap.
CREATE FUNCTION @extschema@.business_calendars_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_timezone_names z WHERE z.name OPERATOR(pg_catalog.=) NEW.time_zone) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format('unknown time zone "%s"', NEW.time_zone),
            HINT = 'Use a name from pg_timezone_names, such as Europe/Berlin.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.business_calendars_check() IS
    'Trigger: refuses a business calendar whose time zone is not a name of pg_timezone_names (22023).';
CREATE TRIGGER business_calendars_check BEFORE INSERT OR UPDATE OF time_zone ON @extschema@.business_calendars
    FOR EACH ROW EXECUTE FUNCTION @extschema@.business_calendars_check();

CREATE FUNCTION @extschema@.business_hours_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    other record;
BEGIN
    -- Serialize writers of one calendar's hours, so two concurrent inserts cannot both pass.
    PERFORM FROM @extschema@.business_calendars c
     WHERE c.calendar_id OPERATOR(pg_catalog.=) NEW.calendar_id FOR UPDATE;
    SELECT h.opens, h.closes INTO other
      FROM @extschema@.business_hours h
     WHERE h.calendar_id OPERATOR(pg_catalog.=) NEW.calendar_id
       AND h.weekday OPERATOR(pg_catalog.=) NEW.weekday
       AND h.opens OPERATOR(pg_catalog.<) NEW.closes AND NEW.opens OPERATOR(pg_catalog.<) h.closes
       AND (TG_OP OPERATOR(pg_catalog.=) 'INSERT'
            OR (h.calendar_id, h.weekday, h.opens) IS DISTINCT FROM (OLD.calendar_id, OLD.weekday, OLD.opens))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'exclusion_violation',
            MESSAGE = pg_catalog.format('opening hours %s-%s overlap %s-%s on weekday %s of business calendar %s',
                                        NEW.opens, NEW.closes, other.opens, other.closes, NEW.weekday, NEW.calendar_id),
            DETAIL = 'The opening intervals of one day must not overlap; touching intervals (12:00-13:00 and 13:00-17:00) are fine.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.business_hours_check() IS
    'Trigger: refuses opening hours overlapping another interval of the same calendar and weekday (23P01).';
CREATE TRIGGER business_hours_check BEFORE INSERT OR UPDATE ON @extschema@.business_hours
    FOR EACH ROW EXECUTE FUNCTION @extschema@.business_hours_check();

REVOKE EXECUTE ON FUNCTION @extschema@.business_calendars_check() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.business_hours_check() FROM PUBLIC;

-- The walks, in C. STABLE: they read the calendar tables (with the caller's rights).
CREATE FUNCTION @extschema@.business_add(calendar bigint, start timestamptz, business interval)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'crm_business_add'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.business_add(bigint, timestamptz, interval) IS
    'The instant at which the given amount of business time of the calendar has elapsed since start (walking backward for a negative amount): business_time(calendar, start, business_add(calendar, start, d)) = d. A day in the interval counts 24 hours; months are refused (22023).';

CREATE FUNCTION @extschema@.business_time(calendar bigint, from_time timestamptz, to_time timestamptz)
RETURNS interval
AS 'MODULE_PATHNAME', 'crm_business_time'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.business_time(bigint, timestamptz, timestamptz) IS
    'The business time of the calendar in [from_time, to_time), as an interval of hours, minutes and seconds only; negative when to_time < from_time.';

REVOKE EXECUTE ON FUNCTION @extschema@.business_add(bigint, timestamptz, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.business_add(bigint, timestamptz, interval)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
REVOKE EXECUTE ON FUNCTION @extschema@.business_time(bigint, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.business_time(bigint, timestamptz, timestamptz)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;

-- Privileges and pg_dump: configuration, written by admins and managers, read by every staff role.
GRANT SELECT ON @extschema@.business_calendars, @extschema@.business_hours, @extschema@.business_holidays
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
GRANT INSERT, UPDATE, DELETE ON @extschema@.business_calendars, @extschema@.business_hours,
    @extschema@.business_holidays TO crm_admin, crm_manager;
GRANT USAGE ON SEQUENCE @extschema@.business_calendars_calendar_id_seq TO crm_admin, crm_manager;

DO $configuration$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['business_calendars', 'business_hours', 'business_holidays']
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I ENABLE ROW LEVEL SECURITY', table_name);
        EXECUTE pg_catalog.format(
            'CREATE POLICY admin_all ON @extschema@.%I TO crm_admin USING (true) WITH CHECK (true)', table_name);
        EXECUTE pg_catalog.format(
            'CREATE POLICY manager_all ON @extschema@.%I TO crm_manager USING (true) WITH CHECK (true)', table_name);
        EXECUTE pg_catalog.format(
            'CREATE POLICY staff_read ON @extschema@.%I FOR SELECT TO crm_sales, crm_support, crm_analyst USING (true)',
            table_name);
    END LOOP;
END
$configuration$;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.business_calendars', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.business_calendars_calendar_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.business_hours', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.business_holidays', '');
